"""The history of one file in a snapshot's commit: who changed it, when, and how it read.

Read from the bare clone's object database (the fetch brings the whole history), so
any replica reads the same answer. Bounded: at most ``limit`` versions, and at most
``max_walk`` commits looked at, newest first (topological, then by time).
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from automator.git.message import TRAILER
from automator.git.snapshot import Snapshot

MAX_VERSIONS = 50
MAX_WALK = 2000
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
    repo = snapshot.repo
    walker = repo.walk(snapshot.commit_id, _ORDER)
    found: list[FileVersion] = []
    for seen, commit in enumerate(walker):
        if seen >= max_walk or len(found) >= limit:
            break
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
    return found


def files_written_by(snapshot: Snapshot, email: str, *, max_walk: int = MAX_WALK) -> frozenset[str]:
    """The files that the ``Automator-Update`` trailers of commits authored by ``email`` name,
    among the newest ``max_walk`` commits: one walk, so only those files' histories are read."""
    found: set[str] = set()
    walker = snapshot.repo.walk(snapshot.commit_id, _ORDER)
    for seen, commit in enumerate(walker):
        if seen >= max_walk:
            break
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
