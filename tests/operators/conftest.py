"""One ``automator run`` for the operator checks, shared by the package's tests.

Two sources: ``fleet`` (healthy; a Deployment on the real registry, and a file whose
path holds HTML with a quoted policy on an image whose registry offers a ``<script>``
tag) and ``broken`` (its Git repository does not exist, so every reconcile fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from testing import MissingServer, free_port
from testing.daemon import SECRET
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, make_bare_repo
from testing.hostile_registry import HostileRegistry
from testing.registry import Pusher, Registry
from tests.automator.daemon.test_run_daemon import start, stop, wait_for
from tests.conftest import need

EVIL_PATH = "apps/<img src=x onerror=alert(2)>.yaml"
EVIL_POLICY = 'semver:~1.4;ignore="*\'><script>alert(3)</script>*"'
HOSTILE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: evil
  annotations:
    automator.dev/policy.app: '{policy}'
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.4.2
"""


@dataclass(frozen=True, slots=True)
class RunningDaemon:
    url: str
    registry_host: str
    evil_host: str
    tmp: Path


def _config(path: Path, git: GitDaemon, hosts: list[str], port: int) -> Path:
    lines = ["sources:"]
    for name, repo in (("fleet", "fleet.git"), ("broken", "missing.git")):
        lines += [f"  - name: {name}", f"    url: {git.url(repo)}", "    paths: [apps]"]
    lines += ["write:", "  mode: push", "registries:"]
    for host in hosts:
        lines += [f"  - host: {host}", "    insecure: true"]
    lines += [
        "interval: 1h",
        f"listen: 127.0.0.1:{port}",
        f"state_dir: {path.parent / 'state'}",
        "webhooks:",
        "  secret_env: HOOK_SECRET",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _both_reconciled(url: str) -> bool:
    sources = requests.get(url + "/status", timeout=2).json()["sources"]
    return all(s["last"] is not None for s in sources)


@pytest.fixture(scope="package")
def daemon(
    tmp_path_factory: pytest.TempPathFactory, registry: Registry, pusher: Pusher
) -> Iterator[RunningDaemon]:
    """``automator run`` with a healthy and a failing source, after both reconciled once."""
    tmp = tmp_path_factory.mktemp("operators")
    (tmp / "remotes").mkdir()
    try:
        git = GitDaemon(tmp / "remotes")
    except MissingServer as exc:
        need(exc)
    pusher.tag("operators/api", ["1.4.2", "1.4.3"])
    with git, HostileRegistry() as evil:
        quoted = EVIL_POLICY.replace("'", "''")  # in a single-quoted YAML scalar
        files = {
            "apps/api.yaml": DEPLOYMENT.format(image=f"{registry.host}/operators/api"),
            EVIL_PATH: HOSTILE.format(policy=quoted, image=f"{evil.host}/evil/app"),
        }
        make_bare_repo(git.base / "fleet.git", files)
        port = free_port()
        config = _config(tmp / "automator.yaml", git, [registry.host, evil.host], port)
        url = f"http://127.0.0.1:{port}"
        proc = start(config, tmp)
        try:
            wait_for(lambda: _both_reconciled(url), "a first reconcile of both sources", 60)
            yield RunningDaemon(url, registry.host, evil.host, tmp)
        finally:
            code = stop(proc)
        assert code == 0, (tmp / "daemon.log").read_text()
        assert SECRET not in (tmp / "daemon.log").read_text()
