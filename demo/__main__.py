"""Run the demo: ``python -m demo``.

Starts a distribution registry and a git daemon on 127.0.0.1, pushes acme/api
1.4.2, 1.4.3 and 1.5.0, creates a config repo whose Deployment runs 1.4.2 under
``semver:~1.4``, runs ``automator run --once`` and prints the commit it pushed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    # automator keeps this container on the newest 1.4.x
    automator.dev/policy.api: "semver:~1.4"
spec:
  replicas: 2
  selector:
    matchLabels: {{ app: api }}
  template:
    metadata:
      labels: {{ app: api }}
    spec:
      containers:
        - name: api
          image: {registry}/acme/api:1.4.2   # written by people, bumped by automator
          ports:
            - containerPort: 8080
"""


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="automator-demo-"))
    print(f"demo directory: {work}")
    with Registry(work / "registry") as registry:
        pusher = Pusher(registry.url)
        pusher.tag("acme/api", ["1.4.2", "1.4.3", "1.5.0"])
        print(f"registry {registry.host}: acme/api tags 1.4.2, 1.4.3, 1.5.0")
        remotes = work / "remotes"
        remotes.mkdir()
        with GitDaemon(remotes) as daemon:
            remote = make_bare_repo(
                remotes / "fleet.git",
                {"apps/api/deployment.yaml": DEPLOYMENT.format(registry=registry.host)},
            )
            config = work / "automator.yaml"
            config.write_text(
                f"sources:\n"
                f"  - name: fleet\n"
                f"    url: {daemon.url('fleet.git')}\n"
                f"    branch: main\n"
                f"    paths: [apps]\n"
                f"write:\n"
                f"  mode: push\n"
                f"  commit:\n"
                f'    author: "automator <automator@demo.test>"\n'
                f"registries:  # the only hosts automator may contact\n"
                f"  - host: {registry.host}\n"
                f"    insecure: true\n"
                f"state_dir: {work / 'state'}\n"
            )
            print(f"config repo {daemon.url('fleet.git')}; config {config}\n")
            print(f"$ automator run --once --config {config}")
            command = ["automator", "--log-format", "text", "run", "--once", "--config"]
            result = subprocess.run(
                [sys.executable, "-m", *command, str(config)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
            )
            print(result.stdout, end="")
            if result.returncode != 0:
                return result.returncode
            print("\n$ git log -1 -p main   # in the config repo")
            print(git("log", "-1", "-p", "main", cwd=remote), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
