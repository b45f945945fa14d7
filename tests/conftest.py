"""Fixtures that start real servers. In CI (CI=true) a missing server fails the test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import MissingServer
from testing.gitserver import GitDaemon
from testing.helmrepo import HelmRepoServer
from testing.registry import Pusher, Registry

IN_CI = os.environ.get("CI", "").lower() == "true"


def need(exc: MissingServer) -> None:
    """Fail in CI, skip elsewhere, always with the command that installs the server."""
    if IN_CI:
        pytest.fail(str(exc))
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An anonymous, in-memory distribution registry shared by the session."""
    try:
        server = Registry(tmp_path_factory.mktemp("registry"))
    except MissingServer as exc:
        need(exc)
    with server:
        yield server


@pytest.fixture(scope="session")
def pusher(registry: Registry) -> Pusher:
    return Pusher(registry.url)


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[GitDaemon]:
    """A git daemon with receive-pack, serving the repositories under tmp_path/remotes."""
    base = tmp_path / "remotes"
    base.mkdir()
    try:
        server = GitDaemon(base)
    except MissingServer as exc:
        need(exc)
    with server:
        yield server


@pytest.fixture(scope="session")
def helm_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelmRepoServer]:
    """nginx serving a directory of Helm chart repositories (``root``), shared by the session."""
    base = tmp_path_factory.mktemp("helmrepo")
    try:
        server = HelmRepoServer(base / "run", base / "root")
    except MissingServer as exc:
        need(exc)
    with server:
        yield server
