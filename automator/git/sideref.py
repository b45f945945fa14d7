"""A small file on a ref outside ``refs/heads`` of a config repo, written by compare-and-swap.

automator keeps what it must remember across replicas and restarts in the config repo
itself (the first-seen record, ``automator.firstseen``), on a ref such as
``refs/automator/first-seen/<source>``: not a branch, so Flux and Argo CD never deploy
it, pull-request cleanup (``refs/heads/automator/``) never sees it, and a clone of the
branch does not fetch it. The ref points at one commit without parents whose tree
holds one file; each write replaces it, so the ref never grows a history.

A write is a compare-and-swap: the push is forced, but ``push_negotiation`` refuses to
send it unless the remote ref is still at the commit the caller read (none when it was
absent), and the server's receive-pack updates the ref only from that same old value.
Losing is :class:`Stale`, not an error: read again, merge, write again.

Reads the ``GitRepo``'s clone, lock, credentials and deadlines; changes nothing of its
branch. The local copy lives under ``refs/automator/side/``, which the branch fetch's
pruning (``refs/remotes/origin/``) never touches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pygit2

from automator.errors import GitError
from automator.git.repo import GitRepo
from automator.git.snapshot import Identity
from automator.git.transport import TRUST, Callbacks, scrub

LOCAL = "refs/automator/side/"  # where the clone keeps what the remote ref held
_ZERO = "0" * 40


@dataclass(frozen=True, slots=True)
class SideFile:
    """What the remote ref holds: its commit (None when absent) and the file's bytes."""

    commit: str | None
    data: bytes | None


class Stale(Exception):
    """The remote ref moved since it was read: another writer won. Read again and merge."""


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
    """The file ``path`` on the remote ref ``ref`` of ``repo``'s remote."""

    def __init__(self, repo: GitRepo, ref: str, path: str) -> None:
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

    def write(self, data: bytes, expected: str | None, message: str, author: Identity) -> str:
        """Replace the file with ``data`` if the ref is still at ``expected``; the new commit.

        Raises :class:`Stale` when another writer moved the ref, GitError when the server
        refuses (a hook, permissions, a read-only remote) or cannot be reached.
        """

        def write(repo: pygit2.Repository) -> str:
            when = int(time.time())
            who = pygit2.Signature(author.name, author.email, when, 0)
            builder = repo.TreeBuilder()
            builder.insert(self.path, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
            commit = repo.create_commit(None, who, who, message, builder.write(), [])
            staged = self.local + ".push"
            repo.references.create(staged, commit, force=True)
            self._push(repo, f"+{staged}:{self.ref}", expected)
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
            entries = {entry.name: entry.id for entry in repo[commit].peel(pygit2.Commit).tree}
            blob = entries.get(self.path)
            data = bytes(repo[blob].peel(pygit2.Blob).data) if blob is not None else None
        except (pygit2.GitError, KeyError, ValueError) as exc:
            raise GitError(
                f"{self.where}: commit {commit[:12]} cannot be read ({exc}); delete the ref"
                f" (git push origin :{self.ref}) and automator writes it again",
                transient=False,
            ) from exc
        return SideFile(commit, data)

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
                f"{self.where}: the server refused the update ({reason}); allow automator to"
                " push refs under refs/automator/, or ask the repository owner",
                transient=False,
            )
        if self.ref not in callbacks.accepted:
            raise Stale("the server did not confirm the update")
