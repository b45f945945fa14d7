"""``automator run`` as a subprocess against a real Git remote: a source whose reconciles
keep failing makes /readyz fail, naming the cause, and recovers when the cause is gone."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from testing import free_port
from testing.gitserver import GitDaemon, git, make_bare_repo
from tests.automator.daemon.test_run_daemon import start, stop, wait_for


def test_readyz_fails_after_three_failed_reconciles_in_a_row_and_names_the_cause(
    tmp_path: Path, git_daemon: GitDaemon
) -> None:
    bare = make_bare_repo(git_daemon.base / "fleet.git", {"apps/api.yaml": "replicas: 1\n"})
    git("branch", "-m", "main", "trunk", cwd=bare)  # the source names a branch that is gone
    port = free_port()
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"""\
sources:
  - name: fleet
    url: {git_daemon.url("fleet.git")}
    paths: [apps]
registries:
  - host: registry.test
interval: 1s
jitter: 0
listen: 127.0.0.1:{port}
state_dir: {tmp_path / "state"}
"""
    )
    url = f"http://127.0.0.1:{port}/readyz"
    cause = f"branch 'main' not found on {git_daemon.url('fleet.git')}; check sources[].branch"
    proc = start(config, tmp_path)
    try:
        wait_for(lambda: requests.get(url, timeout=1).status_code == 503, "listening")
        wait_for(
            lambda: (
                f"fleet: 3 reconciles in a row failed: {cause}\n"
                in requests.get(url, timeout=1).text
            ),
            "not ready after three failures",
        )
        git("branch", "-m", "trunk", "main", cwd=bare)  # someone fixes the remote
        wait_for(lambda: requests.get(url, timeout=1).ok, "ready again after a success")
    finally:
        stop(proc)
    records = [json.loads(line) for line in (tmp_path / "daemon.log").read_text().splitlines()]
    failures = [r["message"] for r in records if r["level"] == "error"]
    assert len(failures) >= 3
    assert set(failures) == {f"fleet: {cause}"}  # the cause, never only an exception's class
