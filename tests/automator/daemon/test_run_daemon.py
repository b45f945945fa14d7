"""``automator run`` as a subprocess: a registry that sends its own notifications to
the daemon, a real Git remote, probes, metrics, and SIGTERM."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from testing import MissingServer, free_port
from testing.daemon import SECRET, notifications, write_config
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.conftest import need
from tests.e2e.test_skeleton import DEPLOYMENT, commits

ROOT = Path(__file__).resolve().parents[3]
BOUND = 20.0  # seconds: push to commit, start to ready, SIGTERM to exit


def start(config: Path, cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOOK_SECRET": SECRET}
    command = [sys.executable, "-m", "automator", "--log-format", "json", "run"]
    return subprocess.Popen(
        [*command, "--config", str(config), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(cwd / "daemon.log").open("w"),
        text=True,
    )


def wait_for(check: Callable[[], bool], what: str, bound: float = BOUND) -> float:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            if check():
                return time.monotonic() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {bound}s")


def stop(proc: subprocess.Popen[str]) -> int:
    """SIGTERM, then the exit code; the wait is a generous bound, never a measurement."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(BOUND + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture
def notifying(tmp_path: Path) -> Iterator[tuple[Registry, int]]:
    """A registry of its own whose notifications go to the daemon's (future) port."""
    port = free_port()
    try:
        registry = Registry(tmp_path / "registry", auth_config=notifications(port))
    except MissingServer as exc:
        need(exc)
    with registry:
        yield registry, port


def metric_samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(url + "/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_push_reaches_the_remote_through_the_registry_webhook(
    tmp_path: Path, notifying: tuple[Registry, int], git_daemon: GitDaemon
) -> None:
    registry, port = notifying
    pusher = Pusher(registry.url)
    pusher.tag("acme/api", ["1.4.2"])
    image = f"{registry.host}/acme/api"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
    )
    config = write_config(
        tmp_path / "automator.yaml", [("fleet", git_daemon.url("fleet.git"), registry.host)], port
    )
    url = f"http://127.0.0.1:{port}"
    proc = start(config, tmp_path)
    try:
        wait_for(lambda: requests.get(url + "/healthz", timeout=1).ok, "/healthz")
        wait_for(lambda: requests.get(url + "/readyz", timeout=1).ok, "ready after the first scan")
        before = commits(remote)
        assert len(before) == 1  # 1.4.2 is the newest: the first scan changed nothing

        pusher.tag("acme/api", ["1.4.4"])
        latency = wait_for(lambda: len(commits(remote)) == 2, "the commit for 1.4.4")
        print(f"push to commit: {latency:.2f}s")
        text = git("show", "main:apps/api.yaml", cwd=remote)
        assert f"image: {image}:1.4.4 # pinned by automator" in text

        # the push lands before the reconcile that made it is reported: wait for the report
        commits_total = ("automator_commits_total", (("source", "fleet"),))
        wait_for(lambda: commits_total in metric_samples(url), "the commit counted")
        samples = metric_samples(url)
        assert samples[commits_total] == 1
        assert samples[("automator_scans_total", (("result", "ok"), ("source", "fleet")))] >= 2
        delivered = (
            "automator_webhook_deliveries_total",
            (("kind", "distribution"), ("result", "202")),
        )
        assert samples[delivered] >= 1
        requests_ok = (
            "automator_registry_requests_total",
            (("host", registry.host), ("status", "200")),
        )
        assert samples[requests_ok] >= 2
        assert any(n == "automator_cycle_duration_seconds_count" for n, _ in samples)

        hook = url + "/webhook/generic"
        body = b'{"image": "' + image.encode() + b'"}'
        forged = {"X-Automator-Signature": "sha256=" + "0" * 64}
        assert requests.post(hook, data=body, headers=forged, timeout=5).status_code == 403
        assert requests.post(hook, data=body, timeout=5).status_code == 401
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.putrequest("POST", f"/webhook/generic?token={SECRET}")
        conn.putheader("Content-Length", str(2 * 1024 * 1024))
        conn.endheaders(b"x" * 1024)  # the server answers before the rest is sent
        assert conn.getresponse().status == 413
        conn.close()
        assert len(commits(remote)) == 2
    finally:
        code = stop(proc)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0, log
    assert SECRET not in log
    assert '"message": "stopped"' in log
    assert "abandoning" not in log  # nothing was running: nothing waited for the timeout


class Hanging:
    """A 'registry' that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def close(self) -> None:
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_sigterm_mid_cycle_exits_in_bound_and_one_bad_source_stops_no_other(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    hanging = Hanging()
    pusher.tag("acme/sigterm", ["1.4.2", "1.4.3"])
    good_image = f"{registry.host}/acme/sigterm"
    good = make_bare_repo(
        git_daemon.base / "good.git", {"apps/api.yaml": DEPLOYMENT.format(image=good_image)}
    )
    stuck = make_bare_repo(
        git_daemon.base / "stuck.git",
        {"apps/api.yaml": DEPLOYMENT.format(image=f"{hanging.host}/acme/api")},
    )
    port = free_port()
    config = write_config(
        tmp_path / "automator.yaml",
        [
            ("stuck", git_daemon.url("stuck.git"), hanging.host),
            ("good", git_daemon.url("good.git"), registry.host),
        ],
        port,
    )
    proc = start(config, tmp_path, "--shutdown-timeout", "3")
    try:
        assert hanging.accepted.wait(BOUND), "the stuck source never asked its registry"
        wait_for(lambda: len(commits(good)) == 2, "the good source's commit")
        code = stop(proc)
    finally:
        hanging.close()
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0, log
    # only the stuck source was abandoned, and only once --shutdown-timeout had passed
    assert '"message": "abandoning stuck after 3s;' in log, log
    assert '"message": "stopped"' in log
    assert len(commits(good)) == 2
    for remote in (good, stuck):
        git("fsck", "--strict", cwd=remote)
    assert len(commits(stuck)) == 1
