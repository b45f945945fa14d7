"""A hostile webhook sender: bad signatures, replays and floods cost no more scans than budgeted.

The daemon runs as ``automator run`` in a subprocess; every scan it makes is counted
by ``automator_scans_total`` on ``/metrics``, and every answer it gave is counted
here, so the two reconcile.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from automator.daemon.webhooks import ReplayGuard, sign
from automator.secrets import Secret
from testing import free_port
from testing.gitserver import GitDaemon, make_bare_repo
from testing.hostile_registry import HostileRegistry
from tests.automator.daemon.test_run_daemon import metric_samples
from tests.hostile.conftest import ROOT
from tests.hostile.test_registry import DEPLOYMENT

SECRET = "hook-secret-for-the-flood-0042"


def test_replay_guard_remembers_a_window_and_a_bounded_number() -> None:
    now = [0.0]
    guard = ReplayGuard(10.0, clock=lambda: now[0], max_entries=3)
    assert guard.first_time("generic", b"a")
    assert not guard.first_time("generic", b"a")  # a replay
    assert guard.first_time("quay", b"a")  # another kind is another delivery
    now[0] = 11.0
    assert guard.first_time("generic", b"a")  # the window has passed
    for body in (b"b", b"c", b"d", b"e"):
        assert guard.first_time("generic", body)
    assert len(guard._seen) <= 3


def scans(url: str) -> float:
    samples = metric_samples(url)
    return sum(v for (name, labels), v in samples.items() if name == "automator_scans_total")


def busy(url: str) -> float:
    samples = metric_samples(url)
    return sum(v for (name, labels), v in samples.items() if name == "automator_sources_busy")


def settle(url: str, bound: float = 60.0) -> float:
    """The scan count once the daemon is idle: no source running, due, or asked again.

    Every webhook answered 202 has already made its sources due (the daemon records the
    trigger before it answers), so an idle daemon has scanned for all of them.
    """
    wait(lambda: busy(url) == 0, bound)
    return scans(url)


def wait(check: Callable[[], bool], bound: float = 20.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < bound:
        try:
            if check():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError("not within the bound")


def test_bad_signatures_replays_and_a_flood_stay_within_the_scan_budget(
    tmp_path: Path, hostile: HostileRegistry, git_daemon: GitDaemon
) -> None:
    image = f"{hostile.host}/evil/app"
    make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/app.yaml": DEPLOYMENT.format(name="app", image=image)},
    )
    port = free_port()
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"""\
sources:
  - name: fleet
    url: {git_daemon.url("fleet.git")}
    paths: [apps]
write: {{mode: dry-run}}
registries:
  - host: {hostile.host}
    insecure: true
interval: 1h
listen: 127.0.0.1:{port}
state_dir: {tmp_path / "state"}
webhooks:
  secret_env: HOOK_SECRET
  requests_per_second: 5
  burst: 40
"""
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "automator", "run", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HOOK_SECRET": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "daemon.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    hook = f"{base}/webhook/generic"
    try:
        wait(lambda: requests.get(base + "/readyz", timeout=2).status_code == 200)
        assert settle(base) == 1  # the first scan

        def post(body: bytes, signature: str | None) -> int:
            headers = {"X-Automator-Signature": signature} if signature else {}
            return requests.post(hook, data=body, headers=headers, timeout=10).status_code

        def delivery(i: int) -> bytes:
            return json.dumps({"image": image, "tag": f"1.4.{i}"}).encode()

        # bad and missing signatures, then one good delivery and 15 replays of it
        answers = Counter(post(delivery(0), sign(Secret("wrong"), delivery(0))) for _ in range(8))
        answers += Counter(post(delivery(0), None) for _ in range(4))
        answers += Counter(post(delivery(1), sign(Secret(SECRET), delivery(1))) for _ in range(16))
        assert answers == {403: 8, 401: 4, 202: 1, 200: 15}, answers
        after_replays = settle(base)
        assert after_replays <= 2  # one accepted delivery: at most one more scan

        # a flood of distinct, validly signed deliveries from one address
        bodies = [delivery(100 + i) for i in range(400)]
        with ThreadPoolExecutor(16) as pool:
            flood = Counter(pool.map(lambda b: post(b, sign(Secret(SECRET), b)), bodies))
        assert set(flood) <= {202, 429} and flood[429] > 0, flood
        final = settle(base)
        assert final - after_replays <= flood[202]  # never more scans than accepted deliveries
        answered = {
            labels: value
            for (name, labels), value in metric_samples(base).items()
            if name == "automator_webhook_deliveries_total"
        }
        assert answered[(("kind", "generic"), ("result", "202"))] == 1 + flood[202]
        assert answered[(("kind", "generic"), ("result", "200"))] == 15
        assert requests.get(base + "/healthz", timeout=2).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
