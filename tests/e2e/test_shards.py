"""Four ``automator run --shard i/4`` processes share eight sources: a real registry that
sends its own notifications to one of them, a second registry that sends none, and a
real ``git daemon``.

Shard i listens on 127.0.0.1i (127.0.0.10 to 127.0.0.13, all loopback) at one port, so
``peer_url`` is a template of the same shape as the headless Service's names. Shown:
every source is reconciled by exactly one shard; a registry notification reaching one
shard is forwarded to the owners and produces every commit; a shard killed (SIGKILL)
and restarted with the same index loses no update pushed while it was down; a webhook
posted to any shard produces the commit of a source another shard owns.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from automator.daemon.shards import Shard
from automator.daemon.webhooks import sign
from automator.secrets import Secret
from testing import MissingServer, free_port
from testing.daemon import SECRET
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.automator.daemon.test_run_daemon import metric_samples, wait_for
from tests.conftest import need
from tests.e2e.test_skeleton import commits

ROOT = Path(__file__).resolve().parents[2]
SHARDS = 4
SOURCES = [f"fleet-{n}" for n in range(8)]
BOUND = 60.0  # seconds a wait may take on a loaded machine; never a measurement


def address(index: int) -> str:
    return f"127.0.0.1{index}"


def hooks_to(port: int, index: int) -> str:
    """The notifying registry's endpoint: shard ``index`` only, as a Service would pick."""
    return f"""\
notifications:
  endpoints:
    - name: automator
      url: http://{address(index)}:{port}/webhook/distribution
      headers:
        Authorization: [Bearer {SECRET}]
      timeout: 2s
      threshold: 5
      backoff: 1s
"""


class Fleet:
    """The sources, their remotes, the config and the four shard processes."""

    def __init__(self, tmp: Path, git_daemon: GitDaemon, port: int, hosts: list[str]) -> None:
        self.tmp, self.port = tmp, port
        self.remotes: dict[str, Path] = {}
        self.urls: dict[str, str] = {}
        self.images: dict[str, str] = {}
        for n, name in enumerate(SOURCES):
            image = f"{hosts[n % 2]}/acme/app-{n}"  # even: notifying registry, odd: quiet
            self.images[name] = image
            self.remotes[name] = make_bare_repo(
                git_daemon.base / f"{name}.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
            )
            self.urls[name] = git_daemon.url(f"{name}.git")
        lines = ["sources:"]
        for name in SOURCES:
            lines += [f"  - name: {name}", f"    url: {self.urls[name]}", "    paths: [apps]"]
        lines += ["write:", "  mode: push", "registries:"]
        lines += [f"  - {{host: {host}, insecure: true}}" for host in hosts]
        lines += [
            "interval: 1h",  # only a start or a webhook makes a scan in this test
            "webhooks: {secret_env: HOOK_SECRET}",
            f"peer_url: http://127.0.0.1{{index}}:{port}",
        ]
        self.config = tmp / "automator.yaml"
        self.config.write_text("\n".join(lines) + "\n")
        self.procs: dict[int, subprocess.Popen[str]] = {}

    def owner(self, name: str) -> int:
        return next(i for i in range(SHARDS) if Shard(i, SHARDS).owns(name, self.urls[name]))

    def url(self, index: int) -> str:
        return f"http://{address(index)}:{self.port}"

    def start(self, index: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_SECRET": SECRET}
        state = self.tmp / f"state-{index}"
        command = [sys.executable, "-m", "automator", "--log-format", "json", "run"]
        command += ["--config", str(self.config), "--shard", f"{index}/{SHARDS}"]
        command += ["--listen", f"{address(index)}:{self.port}", "--state-dir", str(state)]
        log = (self.tmp / f"shard-{index}.log").open("a")
        self.procs[index] = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True
        )
        wait_for(lambda: requests.get(self.url(index) + "/readyz", timeout=2).ok, "ready", BOUND)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def tag_of(self, name: str) -> str:
        text = git("show", "main:apps/api.yaml", cwd=self.remotes[name])
        return text.split(f"{self.images[name]}:", 1)[1].split()[0]


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[tuple[Registry, Registry, int]]:
    port = free_port()
    try:
        notifying = Registry(tmp_path / "notifying", auth_config=hooks_to(port, 1))
        quiet = Registry(tmp_path / "quiet")
    except MissingServer as exc:
        need(exc)
    with notifying, quiet:
        yield notifying, quiet, port


def test_four_shards_reconcile_each_source_once_and_lose_no_webhook(
    tmp_path: Path, registries: tuple[Registry, Registry, int], git_daemon: GitDaemon
) -> None:
    notifying, quiet, port = registries
    pushers = [Pusher(notifying.url), Pusher(quiet.url)]
    for n in range(len(SOURCES)):
        pushers[n % 2].tag(f"acme/app-{n}", ["1.4.2"])
    fleet = Fleet(tmp_path, git_daemon, port, [notifying.host, quiet.host])
    owners = {name: fleet.owner(name) for name in SOURCES}
    assert len(set(owners.values())) >= 3  # the hash spreads eight sources over the shards
    try:
        for index in range(SHARDS):
            fleet.start(index)

        # every source is reconciled by its owner, and by no other shard
        for index in range(SHARDS):
            ready = requests.get(fleet.url(index) + "/readyz", timeout=5).text
            mine = [n for n in SOURCES if owners[n] == index]
            assert f"shard {index}/{SHARDS} owns {len(mine)} of 8 sources" in ready
            samples = metric_samples(fleet.url(index))
            scanned = {
                dict(labels)["source"]
                for (metric, labels), value in samples.items()
                if metric == "automator_scans_total" and value > 0
            }
            assert scanned == set(mine), index

        # the registry notifies shard 1 alone; each owner gets it and commits
        for n in range(0, len(SOURCES), 2):
            pushers[0].tag(f"acme/app-{n}", ["1.4.3"])
        for name in SOURCES[0::2]:
            wait_for(lambda name=name: fleet.tag_of(name) == "1.4.3", f"{name} at 1.4.3", BOUND)

        # a shard killed outright and restarted with its index loses no update
        victim = next(i for i in range(SHARDS) if i != 1 and any(
            owners[n] == i for n in SOURCES[0::2]
        ))  # fmt: skip
        fleet.procs[victim].kill()
        fleet.procs[victim].wait(30)
        theirs = [n for n in SOURCES[0::2] if owners[n] == victim]
        for name in theirs:
            pushers[0].tag(f"acme/app-{SOURCES.index(name)}", ["1.4.4"])
        fleet.start(victim)
        for name in theirs:
            wait_for(lambda name=name: fleet.tag_of(name) == "1.4.4", f"{name} at 1.4.4", BOUND)

        # a webhook posted to any shard reaches the owner of the source it concerns
        for name in SOURCES[1::2]:
            n = SOURCES.index(name)
            receiver = (owners[name] + 1) % SHARDS
            pushers[1].tag(f"acme/app-{n}", ["1.4.5"])
            body = json.dumps({"image": fleet.images[name], "tag": "1.4.5"}).encode()
            answer = requests.post(
                fleet.url(receiver) + "/webhook/generic",
                data=body,
                headers={"X-Automator-Signature": sign(Secret(SECRET), body)},
                timeout=10,
            )
            assert answer.status_code == 202, answer.text
            assert answer.json()["sources"] == []  # not the receiver's own source
            wait_for(lambda name=name: fleet.tag_of(name) == "1.4.5", f"{name} at 1.4.5", BOUND)
        for name in SOURCES:
            assert len(commits(fleet.remotes[name])) == 2 + (name in theirs)
    finally:
        fleet.stop_all()
