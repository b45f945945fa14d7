"""Compare-and-swap on a side ref of the remote (``refs/automator/...``): Git as the arbiter.

A push names the ref's old value (git's receive-pack refuses the update when the ref
moved since it advertised it), and a push without ``+`` is refused unless the new
commit descends from what the remote holds. So:

* a **create-only** push (``expected=None``) of a root commit wins only while the ref
  does not exist: two replicas racing to claim a right, exactly one wins;
* an **update** builds a commit whose parent is the ``expected`` commit and wins only
  while the ref still points there.

Each value is a commit with an empty tree whose message carries the record (trailers),
and whose committer date says when it was written. Nothing else in the repository
changes; ``refs/automator/`` is invisible to branches, clones and pull requests.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pygit2

from automator.errors import GitError
from automator.git.repo import GitRepo
from automator.git.snapshot import Identity
from automator.git.transport import scrub

logger = logging.getLogger(__name__)

LOCAL = "refs/automator-local/"  # where the bare clone keeps what it fetched and built


@dataclass(frozen=True, slots=True)
class RefValue:
    """What a side ref holds: its commit, that commit's message and its date."""

    commit: str
    message: str
    written: float  # committer time, Unix seconds


class SideRefs:
    """Read and compare-and-swap side refs of ``repo``'s remote."""

    def __init__(self, repo: GitRepo, identity: Identity) -> None:
        self.repo = repo
        self.identity = identity

    def read(self, ref: str) -> RefValue | None:
        """The value of ``ref`` on the remote now, or None when it does not exist."""
        _check(ref)

        def read(repo: pygit2.Repository) -> RefValue | None:
            local = LOCAL + ref.removeprefix("refs/")
            try:
                with self.repo._deadline(f"fetching {ref}"):
                    remote = repo.remotes["origin"]
                    remote.fetch([f"+{ref}:{local}"], callbacks=self.repo._callbacks())
            except pygit2.GitError as exc:
                if _missing(exc):
                    return None
                raise self._failed("fetching", ref, exc) from exc
            heads = {h.name: str(h.oid) for h in remote.list_heads(connect=False) if h.name}
            if ref not in heads:
                if local in repo.references:
                    repo.references.delete(local)
                return None
            commit = repo[heads[ref]].peel(pygit2.Commit)
            return RefValue(str(commit.id), commit.message, float(commit.commit_time))

        return self.repo._clone.run(read)

    def swap(self, ref: str, message: str, expected: str | None) -> str | None:
        """Set ``ref`` to a new commit carrying ``message`` if it still holds ``expected``
        (None: if it does not exist); the new commit, or None when another writer won."""
        _check(ref)

        def swap(repo: pygit2.Repository) -> str | None:
            now = int(time.time())
            who = pygit2.Signature(self.identity.name, self.identity.email, now, 0)
            tree = repo.TreeBuilder().write()
            parents = [pygit2.Oid(hex=expected)] if expected else []
            local = LOCAL + "push/" + ref.removeprefix("refs/")
            commit = repo.create_commit(None, who, who, message, tree, parents)
            repo.references.create(local, commit, force=True)
            callbacks = self.repo._callbacks()
            try:
                with self.repo._deadline(f"pushing {ref}"):
                    repo.remotes["origin"].push([f"{local}:{ref}"], callbacks=callbacks)
            except pygit2.GitError as exc:
                logger.info("%s: %s not swapped: %s", self.repo.display_url, ref, _said(exc))
                return None  # not a fast-forward of what the remote holds: another won
            if ref in callbacks.refused or ref not in callbacks.accepted:
                why = callbacks.refused.get(ref, "not confirmed")
                logger.info("%s: %s not swapped: %s", self.repo.display_url, ref, why)
                return None
            return str(commit)

        return self.repo._clone.run(swap)

    def _failed(self, verb: str, ref: str, exc: Exception) -> GitError:
        return GitError(
            f"{self.repo.display_url}: {verb} {ref} failed"
            f" ({scrub(str(exc), self.repo.auth)}); the next cycle retries",
            transient=True,
        )


def _check(ref: str) -> None:
    if not ref.startswith("refs/automator/") or ".." in ref or ref.endswith("/"):
        raise ValueError(f"{ref!r} is not a side ref under refs/automator/")


def _missing(exc: pygit2.GitError) -> bool:
    text = str(exc).lower()
    return "couldn't find remote ref" in text or "not found" in text or "no match" in text


def _said(exc: pygit2.GitError) -> str:
    return " ".join(str(exc).split())[:200]
