"""Several automator processes against one remote; a writer killed mid-push."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from testing.gitserver import GitDaemon, git
from tests.automator.git.conftest import log, writer_command
from tests.automator.git.test_write import human_push


def test_four_processes_make_exactly_one_commit_and_keep_the_human_one(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    url = git_daemon.url("fleet.git")
    start_at = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            writer_command(url, tmp_path / f"cache{i}", start_at), stdout=subprocess.PIPE
        )
        for i in range(4)
    ]
    time.sleep(max(0.0, float(start_at) - time.time()))
    human_push(remotes / "fleet.git", tmp_path, "README.md", "a person was here\n")
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    results = [json.loads(out) for out in outputs]
    # writers that built the same commit in the same second made the same object: one commit
    assert len({r["commit"] for r in results if r["commit"]}) == 1
    subjects = log(remotes / "fleet.git")
    assert subjects.count("Update ghcr.io/acme/api to 1.4.3") == 1
    assert "Human edits README.md" in subjects
    assert git("show", "main:README.md", cwd=remotes / "fleet.git") == "a person was here\n"


def test_a_writer_killed_during_push_leaves_the_remote_consistent(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    bare = remotes / "fleet.git"
    entered, left = tmp_path / "hook-entered", tmp_path / "hook-left"
    hook = bare / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ncat >/dev/null\ntouch {entered}\nsleep 1\ntouch {left}\n")
    hook.chmod(0o755)
    cache = tmp_path / "cache"
    victim = subprocess.Popen(writer_command(git_daemon.url("fleet.git"), cache))
    deadline = time.monotonic() + 30
    while not entered.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert entered.exists(), "the push never reached the hook"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    while not left.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    hook.unlink()
    git("fsck", "--strict", cwd=bare)
    again = subprocess.run(
        writer_command(git_daemon.url("fleet.git"), cache), capture_output=True, check=True
    )
    assert json.loads(again.stdout)["attempts"] >= 1
    subjects = log(bare)
    assert subjects.count("Update ghcr.io/acme/api to 1.4.3") == 1
    assert subjects[-1] == "Initial config" and len(subjects) == 2
