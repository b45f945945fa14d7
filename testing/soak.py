"""A soak: the daemon against a faulty registry and a Git remote that races and goes away.

``automator run`` (a subprocess, interval 1s) watches one image behind
``testing/proxy.py``, which injects resets, 429s and 5xx at random, while a new tag
arrives every ``tag_every`` seconds, a person pushes to the same branch, and the
``git daemon`` is stopped and started again on the same port. ``run_soak`` returns
what happened; ``bench/soak.py`` prints it and ``tests/hostile/test_soak.py`` checks
that every update landed once and RSS stayed flat.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.proxy import FaultProxy
from testing.registry import Pusher, Registry

ROOT = Path(__file__).resolve().parents[1]  # the daemon runs this checkout's automator
FAULTS = ["reset", "429", "500", "503"]
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy.api: "semver:~1.4"
spec:
  template:
    spec:
      containers:
        - name: api
          image: {image}:1.4.0
"""


@dataclass
class Report:
    seconds: float
    updates: int  # tags pushed after the first
    faults: int  # registry faults injected
    outages: int  # times the git remote went away
    human_commits: int
    commits: Counter[str]  # automator commits per tag
    last_tag: str
    landed: str  # the tag the remote holds at the end
    rss_kb: tuple[int, int]  # daemon VmRSS at start and end

    def __str__(self) -> str:
        return (
            f"duration {self.seconds:.0f}s, updates {self.updates}, faults {self.faults},"
            f" git outages {self.outages}, human commits {self.human_commits},"
            f" automator commits {sum(self.commits.values())} (max per tag"
            f" {max(self.commits.values(), default=0)}), last {self.last_tag} landed"
            f" {self.landed}, RSS {self.rss_kb[0] // 1024} -> {self.rss_kb[1] // 1024} MiB"
        )


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def landed_tag(remote: Path, image: str) -> str:
    try:
        text = git("show", "main:apps/api.yaml", cwd=remote)
    except RuntimeError:
        return ""
    return text.rsplit(f"{image}:", 1)[-1].strip()


REPORTED = ("fleet: up to date", "fleet: pushed", "fleet: no changes")  # daemon/report.py


def first_cycle(log: Path, timeout: float = 120.0) -> None:
    """Wait until the daemon's log reports its first reconcile of the source."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if any(word in text for word in REPORTED):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the soak's daemon reported no reconcile within {timeout:.0f} s; see {log}")


def run_soak(seconds: float, workdir: Path, tag_every: float = 1.5) -> Report:
    """Run the soak for ``seconds`` (plus a settle of at most 60 s) in ``workdir``."""
    with Registry(workdir / "registry") as registry, FaultProxy(registry.url) as proxy:
        pusher = Pusher(registry.url)
        repo = "soak/api"
        pusher.tag(repo, ["1.4.0"])
        image = f"{proxy.host}/{repo}"
        remotes = workdir / "remotes"
        remotes.mkdir()
        daemon = GitDaemon(remotes).start()
        remote = make_bare_repo(
            remotes / "fleet.git",
            {"apps/api.yaml": DEPLOYMENT.format(image=image), "README.md": "# fleet\n"},
        )
        config = workdir / "automator.yaml"
        config.write_text(
            f"sources:\n  - name: fleet\n    url: {daemon.url('fleet.git')}\n"
            "    paths: [apps]\nwrite: {mode: push}\n"
            f"registries:\n  - host: {proxy.host}\n    insecure: true\n"
            f"interval: 1s\nlisten: 127.0.0.1:0\nstate_dir: {workdir / 'state'}\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "automator", "run", "--config", str(config)],
            cwd=workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "daemon.log").open("w"),
        )
        stop = threading.Event()
        counts: Counter[str] = Counter()
        tags = ["1.4.0"]

        def tags_arrive() -> None:
            while not stop.wait(tag_every):
                tag = f"1.4.{len(tags)}"
                pusher.tag(repo, [tag])
                tags.append(tag)

        def faults() -> None:
            while not stop.wait(random.uniform(0.8, 2.0)):  # faster piles up unserved faults
                proxy.inject("/tags/list", random.choice(FAULTS))
                counts["faults"] += 1

        def people() -> None:
            work = workdir / "person"
            git("clone", "-q", str(remote), str(work))
            while not stop.wait(random.uniform(1.0, 3.0)):
                (work / "README.md").write_text(f"# fleet\n\nedited at {time.time()}\n")
                git("commit", "-qam", "A person edits the README", cwd=work)
                for _ in range(5):  # a person retries a rejected push after a rebase
                    try:
                        git("pull", "-q", "--rebase", cwd=work)
                        git("push", "-q", "origin", "HEAD:main", cwd=work)
                        counts["human"] += 1
                        break
                    except RuntimeError:
                        time.sleep(0.2)

        def outages() -> None:
            while not stop.wait(random.uniform(3.0, 6.0)):
                daemon.stop()
                time.sleep(random.uniform(0.5, 2.0))
                daemon.start()
                counts["outages"] += 1

        first_cycle(workdir / "daemon.log")  # RSS before the first cycle is import ramp-up
        start_rss = rss_kb(proc.pid)
        threads = [
            threading.Thread(target=f, daemon=True) for f in (tags_arrive, faults, people, outages)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(30)
        if daemon.proc is None:
            daemon.start()
        settle = time.monotonic() + 60
        while landed_tag(remote, image) != tags[-1] and time.monotonic() < settle:
            time.sleep(0.2)
        end_rss = rss_kb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        elapsed = time.monotonic() - started
        subjects = git("log", "--format=%s", "main", cwd=remote).splitlines()
        prefix = f"Update {image} to "
        per_tag = Counter(s.removeprefix(prefix) for s in subjects if s.startswith(prefix))
        report = Report(
            elapsed, len(tags) - 1, counts["faults"], counts["outages"], counts["human"],
            per_tag, tags[-1], landed_tag(remote, image), (start_rss, end_rss),
        )  # fmt: skip
        daemon.stop()
        return report
