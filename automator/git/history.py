"""The history of one file in a snapshot's commit: who changed it, when, and how it read.

Read from the bare clone's object database, so any replica reads the same answer.
Bounded: at most ``limit`` versions, and at most ``max_walk`` commits looked at, newest
first (topological, then by time).

A shallow clone (:data:`SHALLOW_DEPTH` deep by default) gives the same answers: a walk
that reaches one of its boundary commits (whose parents were not fetched) before it
stops deepens the clone to its whole history (``Snapshot.deepen``) and walks again.
Until a walk reaches a boundary commit, the commits it yields are those of the complete
history, in the same order: a commit past the boundary can enter the topological order
only after a boundary commit has left it. With the default depth the boundary lies
``MAX_WALK`` commits from the tip, where every walk has stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TypeVar

import pygit2

from automator.git.message import TRAILER
from automator.git.snapshot import Snapshot

MAX_VERSIONS = 50
MAX_WALK = 2000
SHALLOW_DEPTH = MAX_WALK + 1  # what a walk can read: MAX_WALK commits and their first parents
T = TypeVar("T")
logger = logging.getLogger(__name__)
_ORDER = pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME


@dataclass(frozen=True, slots=True)
class FileVersion:
    """One commit that changed a file, and the file as that commit left it."""

    commit: str
    author_name: str
    author_email: str
    time: int  # the committer's date, seconds since the epoch
    message: str
    data: bytes | None  # None when the commit deleted the file


def file_history(
    snapshot: Snapshot, path: str, *, limit: int = MAX_VERSIONS, max_walk: int = MAX_WALK
) -> list[FileVersion]:
    """The commits reachable from the snapshot's commit that changed ``path``, newest first.

    A commit changed the file when its blob differs from its first parent's (a root
    commit that has the file changed it).
    """
    return _complete(snapshot, lambda check: _file_history(snapshot, path, limit, max_walk, check))


def _file_history(
    snapshot: Snapshot, path: str, limit: int, max_walk: int, check: bool
) -> list[FileVersion]:
    repo = snapshot.repo
    found: list[FileVersion] = []
    for commit in islice(_walk(snapshot, check), max_walk if limit > 0 else 0):
        blob = _blob(commit, path)
        before = _blob(commit.parents[0], path) if commit.parents else None
        if blob == before:
            continue
        data = bytes(repo[blob].peel(pygit2.Blob).data) if blob is not None else None
        found.append(
            FileVersion(
                str(commit.id),
                commit.author.name,
                commit.author.email,
                commit.commit_time,
                commit.message,
                data,
            )
        )
        if len(found) >= limit:
            break  # before the walk is asked for one more commit
    return found


def files_written_by(snapshot: Snapshot, email: str, *, max_walk: int = MAX_WALK) -> frozenset[str]:
    """The files that the ``Automator-Update`` trailers of commits authored by ``email`` name,
    among the newest ``max_walk`` commits: one walk, so only those files' histories are read."""
    return _complete(snapshot, lambda check: _written_by(snapshot, email, max_walk, check))


def _written_by(snapshot: Snapshot, email: str, max_walk: int, check: bool) -> frozenset[str]:
    found: set[str] = set()
    for commit in islice(_walk(snapshot, check), max_walk):
        if commit.author.email != email:
            continue
        for line in commit.message.splitlines():
            if line.startswith(f"{TRAILER}: "):
                found.add(line[len(TRAILER) + 2 :].rsplit(" ", 1)[0])
    return frozenset(found)


def _blob(commit: pygit2.Commit, path: str) -> pygit2.Oid | None:
    try:
        return commit.tree[path].id
    except KeyError:
        return None


class _Boundary(Exception):
    """A walk reached a commit whose parents a shallow clone does not hold."""


def _walk(snapshot: Snapshot, check: bool) -> Iterator[pygit2.Commit]:
    """The snapshot's history, newest first; with ``check``, :class:`_Boundary` instead of a
    shallow clone's boundary commit. A caller that has its answer asks for no more commits.
    """
    boundary = _boundary(snapshot.repo) if check else frozenset()
    for commit in snapshot.repo.walk(snapshot.commit_id, _ORDER):
        if str(commit.id) in boundary:
            raise _Boundary(str(commit.id))
        yield commit


def _complete(snapshot: Snapshot, read: Callable[[bool], T]) -> T:
    """``read(check=True)``; at a shallow clone's boundary, deepen it once and read again."""
    try:
        return read(True)
    except _Boundary as reached:
        at = str(reached)
    if snapshot.deepen is not None and snapshot.deepen():
        try:
            return read(True)
        except _Boundary as again:
            at = str(again)
    logger.warning(
        "the history behind commit %s cannot be fetched; what lies before it is read as is",
        at[:12],
    )
    return read(False)


def _boundary(repo: pygit2.Repository) -> frozenset[str]:
    """The commits of a shallow clone whose parents it does not hold (none: complete)."""
    if not repo.is_shallow:
        return frozenset()
    try:
        return frozenset((Path(repo.path) / "shallow").read_text().split())
    except OSError:
        return frozenset()
