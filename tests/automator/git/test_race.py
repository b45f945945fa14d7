"""Several automator processes against one remote; a writer killed mid-push."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from testing.gitserver import GitDaemon, git
from tests.automator.git.conftest import log, writer_command
from tests.automator.git.test_write import human_push


def test_four_processes_make_exactly_one_commit_and_keep_the_human_one(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    url = git_daemon.url("fleet.git")
    barrier, release = os.pipe()  # the writers wait until ``release`` is closed
    procs = [
        subprocess.Popen(
            writer_command(url, tmp_path / f"cache{i}", str(barrier)),
            stdout=subprocess.PIPE,
            pass_fds=(barrier,),
        )
        for i in range(4)
    ]
    os.close(barrier)
    try:
        ready = [p.stdout.readline() for p in procs if p.stdout]
    finally:
        os.close(release)  # all four go at once, and so does the person
    assert ready == [b"ready\n"] * 4
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
    entered, release = tmp_path / "hook-entered", tmp_path / "hook-release"
    hook = bare / "hooks" / "pre-receive"
    # holds the push until the test has killed its writer; says which receive-pack it serves
    hook.write_text(
        "#!/bin/sh\ncat >/dev/null\n"
        f"echo $PPID >{entered}.tmp && mv {entered}.tmp {entered}\n"
        f"i=0; while [ ! -e {release} ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\n"
    )
    hook.chmod(0o755)
    cache = tmp_path / "cache"
    tmpdir = tmp_path / "tmp"  # a SIGKILL leaves the writer's git home behind: keep it here
    tmpdir.mkdir()
    victim = subprocess.Popen(
        writer_command(git_daemon.url("fleet.git"), cache),
        env={**os.environ, "TMPDIR": str(tmpdir)},
    )
    assert wait_until(entered.exists), "the push never reached the hook"
    receive_pack = int(entered.read_text())
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    release.touch()
    assert wait_until(lambda: not running(receive_pack)), "receive-pack never finished"
    hook.unlink()
    git("fsck", "--strict", cwd=bare)
    again = subprocess.run(
        writer_command(git_daemon.url("fleet.git"), cache), capture_output=True, check=True
    )
    assert json.loads(again.stdout)["attempts"] >= 1
    subjects = log(bare)
    assert subjects.count("Update ghcr.io/acme/api to 1.4.3") == 1
    assert subjects[-1] == "Initial config" and len(subjects) == 2


def wait_until(condition: Callable[[], bool], bound: float = 30.0) -> bool:
    """Poll ``condition`` until it holds or ``bound`` seconds pass; return the last answer."""
    deadline = time.monotonic() + bound
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def running(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie has finished)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
