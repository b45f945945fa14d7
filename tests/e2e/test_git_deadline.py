"""``run --once`` against a Git remote that drips its answer: it ends at the configured
whole-call deadline, with one line that says so."""

from __future__ import annotations

import time
from pathlib import Path

from testing.drip import DripProxy
from testing.gitserver import GitDaemon, make_bare_repo
from tests.e2e.test_skeleton import automator


def test_run_once_ends_at_the_git_deadline_of_a_dripping_remote(
    tmp_path: Path, git_daemon: GitDaemon
) -> None:
    make_bare_repo(git_daemon.base / "fleet.git", {"apps/api.yaml": "image: registry.test/a:1\n"})
    with DripProxy(("127.0.0.1", git_daemon.port), every=0.05) as proxy:
        config = tmp_path / "automator.yaml"
        config.write_text(
            f"""\
sources:
  - name: fleet
    url: {proxy.url("fleet.git")}
    paths: [apps]
    git_deadline_seconds: 1
registries:
  - host: registry.test
state_dir: {tmp_path / "state"}
log_format: text
"""
        )
        result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
        for _ in range(500):  # the dripping thread sees the hang-up at its next byte
            if proxy.hung_up:
                break
            time.sleep(0.01)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert f"fleet: {proxy.url('fleet.git')}: fetch did not finish within its 1s deadline" in (
        result.stderr
    )
    assert proxy.hung_up == 1 and 0 < proxy.dripped < proxy.received  # cut, not finished
