"""A side ref of a config repo (outside ``refs/heads``), written by compare-and-swap.

automator keeps what it must remember across replicas and restarts, and what Git must
arbitrate between them, in the config repo itself, on refs under ``refs/automator/``:
the first-seen record (``refs/automator/first-seen/<source>``, ``automator.firstseen``)
and the dashboard's claim and issue number (``refs/automator/dashboard/<source>``,
``automator.write.dashboard``). Not branches, so Flux and Argo CD never deploy them,
pull-request cleanup (``refs/heads/automator/``) never sees them, and a clone of the
branch does not fetch them. The ref points at one commit without parents whose message
says what it is and whose tree holds one file (or none); each write replaces it, so the
ref never grows a history.

A write is a compare-and-swap: the push is forced, but ``push_negotiation`` refuses to
send it unless the remote ref is still at the commit the caller read (none when it was
absent: a create-only write), and the server's receive-pack updates the ref only from
that same old value. Two outcomes besides success, told apart:

* :class:`Stale`: another writer moved the ref (a lost race). Read again, decide again.
* :class:`~automator.errors.GitError`: the server refused the write (an update hook,
  permissions, a read-only remote) or could not be reached. Nobody can arbitrate
  through this ref; the caller says so in one warning.

Reads the ``GitRepo``'s clone, lock, credentials and deadlines; changes nothing of its
branch. Every local copy lives under ``refs/automator/side/`` (:data:`LOCAL`), which the
branch fetch (``refs/remotes/origin/``, pruned there only) and the pull-request writer's
branch cleanup (``refs/heads/automator/`` and its tracking ref) never touch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import pygit2

from automator.errors import GitError
from automator.git.repo import GitRepo
from automator.git.snapshot import Identity
from automator.git.transport import TRUST, Callbacks, scrub

LOCAL = "refs/automator/side/"  # where the clone keeps what the remote ref held
_ZERO = "0" * 40


@dataclass(frozen=True, slots=True)
class SideFile:
    """What the remote ref holds: its commit (None when absent), the file's bytes, and the
    commit's message and committer time (Unix seconds)."""

    commit: str | None
    data: bytes | None
    message: str = ""
    written: float = 0.0


class Stale(Exception):
    """The remote ref moved since it was read: another writer won. Read again and merge."""


class Side(Protocol):
    """One side ref (:class:`SideRef`): the seam the first-seen record and the dashboard
    take, so their tests can pass an in-memory one."""

    where: str

    def read(self) -> SideFile: ...

    def write(
        self, data: bytes | None, expected: str | None, message: str, author: Identity
    ) -> str: ...


class _Lease(Callbacks):
    """Credentials and host checks, and the compare-and-swap of one ref."""

    def __init__(self, repo: GitRepo, ref: str, expected: str | None) -> None:
        super().__init__(repo.endpoint, repo.auth, TRUST.prepare(repo.auth, repo.timeout_s))
        self.ref = ref
        self.expected = expected or _ZERO

    def push_negotiation(self, updates: list[Any]) -> None:
        for update in updates:
            if update.dst_refname == self.ref and str(update.src) != self.expected:
                raise Stale(f"{self.ref} is at {str(update.src)[:12]}, not {self.expected[:12]}")


class SideRef:
    """The file ``path`` on the remote ref ``ref`` of ``repo``'s remote (no file: None)."""

    def __init__(self, repo: GitRepo, ref: str, path: str | None = None) -> None:
        if not ref.startswith("refs/") or ref.startswith(("refs/heads/", "refs/tags/")):
            raise ValueError(f"{ref!r}: a side ref lives outside refs/heads and refs/tags")
        self.repo = repo
        self.ref = ref
        self.path = path
        self.local = LOCAL + ref.removeprefix("refs/")
        self.where = f"{ref} on {repo.display_url}"

    def read(self) -> SideFile:
        """Fetch the ref; what it holds now. Raises GitError when the remote cannot be read."""
        return self.repo._clone.run(self._read)  # the branch's clone and its lock

    def write(
        self, data: bytes | None, expected: str | None, message: str, author: Identity
    ) -> str:
        """Replace the ref with a commit of ``message`` holding ``data`` (None: an empty
        tree) if the ref is still at ``expected`` (None: absent); the new commit.

        Raises :class:`Stale` when another writer moved the ref, GitError when the server
        refuses (a hook, permissions, a read-only remote) or cannot be reached.
        """
        if data is not None and self.path is None:
            raise ValueError(f"{self.where}: no file to hold the data")

        def write(repo: pygit2.Repository) -> str:
            when = int(time.time())
            who = pygit2.Signature(author.name, author.email, when, 0)
            builder = repo.TreeBuilder()
            if data is not None and self.path is not None:
                builder.insert(self.path, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
            commit = repo.create_commit(None, who, who, message, builder.write(), [])
            staged = self.local + ".push"
            repo.references.create(staged, commit, force=True)
            try:
                self._push(repo, f"+{staged}:{self.ref}", expected)
            finally:
                repo.references.delete(staged)
            repo.references.create(self.local, commit, force=True)
            return str(commit)

        return self.repo._clone.run(write)

    def _read(self, repo: pygit2.Repository) -> SideFile:
        remote = repo.remotes["origin"]
        try:
            with self.repo._deadline(f"fetch of {self.ref}"):
                remote.fetch([f"+{self.ref}:{self.local}"], callbacks=self.repo._callbacks())
        except (pygit2.GitError, OSError) as exc:
            raise GitError(
                f"{self.where}: fetch failed ({scrub(str(exc), self.repo.auth)}); check the URL,"
                " the network and the credentials",
                transient=True,
            ) from exc
        advertised = {h.name: str(h.oid) for h in remote.list_heads(connect=False) if h.name}
        commit = advertised.get(self.ref)
        if commit is None:
            if self.local in repo.references:
                repo.references.delete(self.local)
            return SideFile(None, None)
        try:
            found = repo[commit].peel(pygit2.Commit)
            entries = {entry.name: entry.id for entry in found.tree}
            blob = entries.get(self.path) if self.path is not None else None
            data = bytes(repo[blob].peel(pygit2.Blob).data) if blob is not None else None
        except (pygit2.GitError, KeyError, ValueError) as exc:
            raise GitError(
                f"{self.where}: commit {commit[:12]} cannot be read ({exc}); delete the ref"
                f" (git push origin :{self.ref}) and automator writes it again",
                transient=False,
            ) from exc
        return SideFile(commit, data, found.message, float(found.commit_time))

    def _push(self, repo: pygit2.Repository, refspec: str, expected: str | None) -> None:
        callbacks = _Lease(self.repo, self.ref, expected)
        try:
            with self.repo._deadline(f"push to {self.ref}"):
                repo.remotes["origin"].push([refspec], callbacks=callbacks)
        except pygit2.GitError as exc:
            text = scrub(str(exc), self.repo.auth)
            if "stale" in text or "lock" in text:  # the server saw another writer first
                raise Stale(text) from exc
            raise GitError(
                f"{self.where}: push failed ({text}); check that the credentials may push"
                " to it, or that the server accepts refs outside refs/heads",
                transient=True,
            ) from exc
        if self.ref in callbacks.refused:
            reason = scrub(callbacks.refused[self.ref], self.repo.auth)
            if "stale" in reason or "lock" in reason or "fetch first" in reason:
                raise Stale(reason)
            raise GitError(
                f"{self.where}: the server refused the update ({reason}); ask the repository"
                " owner to allow pushes to refs/automator/*",
                transient=False,
            )
        if self.ref not in callbacks.accepted:
            raise Stale("the server did not confirm the update")
