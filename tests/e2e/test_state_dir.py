"""A state_dir that is a file, unwritable for the image's user (UID 10001) or on a full
disk: one line naming it from ``run --once``, ``plan`` and ``check``; the daemon stays up
with /readyz failing."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from automator.errors import GitError
from automator.git import GitRepo, Identity, NewCommit, Snapshot
from testing import MissingServer, free_port
from testing.gitserver import GitDaemon, make_bare_repo
from tests.conftest import need
from tests.e2e.test_skeleton import ROOT

UID = 10001  # the user the container image runs as
# the run as UID 10001 may read and search any directory (the interpreter lives under
# /root here), and nothing more: writes are checked as for any user
AS_IMAGE_USER = [
    "setpriv",
    f"--reuid={UID}",
    f"--regid={UID}",
    "--clear-groups",
    "--inh-caps=+dac_read_search",
    "--ambient-caps=+dac_read_search",
]


def write_config(path: Path, url: str, state_dir: Path, port: int) -> Path:
    path.write_text(
        f"""\
sources:
  - name: fleet
    url: {url}
    paths: [apps]
registries:
  - host: registry.test
state_dir: {state_dir}
interval: 1s
listen: 127.0.0.1:{port}
"""
    )
    return path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 1 MiB, mounted for the test."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        need(MissingServer("mounting a tmpfs needs root and mount(8): run the tests as root"))
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> None:
    with contextlib.suppress(OSError), open(disk / "filler", "wb", buffering=0) as filler:
        while True:  # until ENOSPC
            filler.write(b"\0" * 4096)


@pytest.fixture
def full_disk(small_disk: Path) -> Path:
    """A directory on a tmpfs with no room left."""
    (small_disk / "state").mkdir()
    fill(small_disk)
    return small_disk / "state"


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A root-owned directory anyone may enter (pytest's own base is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="automator-state-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def workdir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where the config is written: reachable by UID 10001 in the unwritable case."""
    if request.node.callspec.params.get("bad_state") == "unwritable":
        path: Path = request.getfixturevalue("reachable")
        return path
    return tmp_path


@pytest.fixture(params=["file", "unwritable", "full"])
def bad_state(
    request: pytest.FixtureRequest, tmp_path: Path, git_daemon: GitDaemon
) -> tuple[Path, list[str], str]:
    """(state_dir, command prefix, what the message says) for each way to be unusable."""
    make_bare_repo(git_daemon.base / "fleet.git", {"apps/api.yaml": "image: registry.test/a:1\n"})
    if request.param == "file":
        state = tmp_path / "state"
        state.write_text("not a directory\n")
        return state, [], "it is a file, not a directory"
    if request.param == "unwritable":
        if shutil.which("setpriv") is None:
            need(MissingServer("setpriv is not installed: apt-get install util-linux"))
        state = request.getfixturevalue("reachable") / "state"
        state.mkdir(mode=0o755)  # root's
        return state, AS_IMAGE_USER, "Permission denied"
    return request.getfixturevalue("full_disk"), [], "No space left on device"


def automator(prefix: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "automator", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [["run", "--once"], ["plan"], ["check"]])
def test_each_command_says_in_one_line_which_state_dir_is_unusable(
    bad_state: tuple[Path, list[str], str],
    git_daemon: GitDaemon,
    workdir: Path,
    command: list[str],
) -> None:
    state, prefix, why = bad_state
    config = write_config(workdir / "automator.yaml", git_daemon.url("fleet.git"), state, 0)
    result = automator(prefix, *command, "--config", str(config), cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"automator: error: state_dir {state} is not writable: {why}; point state_dir"
        " (or --state-dir, AUTOMATOR_STATE_DIR) at a writable directory with free space"
    ]


def test_the_daemon_stays_up_and_is_not_ready(
    bad_state: tuple[Path, list[str], str], git_daemon: GitDaemon, workdir: Path, tmp_path: Path
) -> None:
    state, prefix, why = bad_state
    port = free_port()
    config = write_config(workdir / "automator.yaml", git_daemon.url("fleet.git"), state, port)
    log = (tmp_path / "daemon.log").open("w")
    command = [sys.executable, "-m", "automator", "--log-format", "json", "run"]
    proc = subprocess.Popen(
        [*prefix, *command, "--config", str(config)],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        answer = wait_for_answer(url + "/readyz", proc)
        assert answer.status_code == 503
        assert f"state_dir {state} is not writable: {why}\n" in answer.text
        assert requests.get(url + "/healthz", timeout=5).ok
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(30)
    assert "Traceback" not in (tmp_path / "daemon.log").read_text()


def wait_for_answer(url: str, proc: subprocess.Popen[bytes]) -> requests.Response:
    """The first answer from ``url``; fails if the daemon exits first (a generous bound)."""
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"the daemon exited with {proc.returncode}")
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.05)  # not listening yet: wait a little, or see it exit
    raise AssertionError(f"{url} never answered")


def test_a_disk_that_fills_during_a_write_is_named_not_a_traceback(
    small_disk: Path, git_daemon: GitDaemon
) -> None:
    make_bare_repo(git_daemon.base / "fleet.git", {"apps/api.yaml": "image: registry.test/a:1\n"})
    repo = GitRepo(git_daemon.url("fleet.git"), "main", small_disk / "state" / "git")

    def render(snapshot: Snapshot) -> NewCommit:
        fill(small_disk)  # after the fetch, before the commit is written
        return NewCommit({"apps/api.yaml": os.urandom(65536)}, "Update\n")

    with pytest.raises(GitError) as caught:
        repo.write(render, author=Identity("automator", "bot@example.test"))
    assert str(caught.value).startswith(
        f"{git_daemon.url('fleet.git')}: state_dir {small_disk / 'state' / 'git'} is not"
        " writable: No space left on device; point state_dir"
    )
