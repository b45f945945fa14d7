"""Git servers for the write-back tests: http(s) behind nginx, sshd, and the seed repo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import MissingServer
from testing.githttp import GitHttp
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.sshd import Sshd
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[3]
SEED = {
    "clusters/prod/api.yaml": "image: ghcr.io/acme/api:1.4.2  # automator: semver:~1.4\n",
    "clusters/prod/web.yaml": "image: ghcr.io/acme/web:2.0.0\n",
    "README.md": "fleet\n",
}


@pytest.fixture
def remotes(git_daemon: GitDaemon) -> Path:
    """The seed repo ``fleet.git`` in the directory the git daemon serves."""
    base = git_daemon.base
    make_bare_repo(base / "fleet.git", SEED)
    git("config", "http.receivepack", "true", cwd=base / "fleet.git")
    return base


@pytest.fixture
def git_http(tmp_path: Path, remotes: Path) -> Iterator[GitHttp]:
    run = tmp_path / "http"
    run.mkdir()
    try:
        server = GitHttp(run, remotes)
    except MissingServer as exc:
        need(exc)
    with server:
        yield server


@pytest.fixture
def sshd(tmp_path: Path, remotes: Path) -> Iterator[Sshd]:
    run = tmp_path / "ssh"
    run.mkdir()
    try:
        server = Sshd(run, remotes)
    except MissingServer as exc:
        need(exc)
    with server:
        yield server


def log(repo: Path, *args: str) -> list[str]:
    """``git log --format=%s`` of the remote's main, newest first."""
    return git("log", "--format=%s", *args, "main", cwd=repo).splitlines()


def writer_command(url: str, cache: Path, *extra: str) -> list[str]:
    """The command line of one automator process running ``writer.py``."""
    return [sys.executable, str(Path(__file__).with_name("writer.py")), url, str(cache), *extra]
