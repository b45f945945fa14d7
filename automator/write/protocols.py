"""The write stage's seams: what a writer is, and what it asks of a Git repository."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from automator.git import Identity, NewCommit, Signer, Snapshot, WriteResult
from automator.model import Plan
from automator.write.settings import Written

Replan = Callable[[Snapshot], Plan]
"""The plan for one snapshot (scan, resolve, decide); the engine memoises it by commit."""


class Repository(Protocol):
    """One remote branch: what ``automator.git.GitRepo`` offers the writers."""

    branch: str

    def fetch(self) -> Snapshot: ...

    def write(
        self,
        render: Callable[[Snapshot], NewCommit | None],
        *,
        author: Identity,
        committer: Identity | None = None,
        sign: Signer | None = None,
        push_branch: str | None = None,
        force: bool = False,
    ) -> WriteResult: ...

    def remote_branches(self, prefix: str = "") -> dict[str, str]: ...

    def delete_branch(self, branch: str) -> bool: ...


class Writer(Protocol):
    """Puts a plan into Git: a commit on the branch, or pull requests."""

    def write(self, replan: Replan, *, cancel: threading.Event | None = None) -> Written:
        """Write what ``replan`` decides on the remote's tip; raise Cancelled once
        ``cancel`` is set before a write starts, AutomatorError when it fails."""
        ...
