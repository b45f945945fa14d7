"""Git without a checkout: a persistent bare clone, commits built from blobs, push.

Git is the lock. A push is a compare-and-swap on the remote branch; when it loses
(however libgit2 reports that: an exception, or a refusal in
``push_update_reference``), we fetch, render the change again on the new tip and
push again, a bounded number of times with jittered backoff. If the new tip already
holds the change, nothing is committed. A failed push after which the branch did not
move is no race but a refusal (a hook, a size limit, a checked-out branch): permanent.

The remote's advertisement is the truth about which branches exist: a tracking ref it
no longer lists is pruned, and the source branch is never created by a push (only our
pull-request branches are). The clone is a cache (:mod:`.clone`): when it is damaged
it is set aside and cloned again. Every network call has a whole-call deadline
(:mod:`.deadline`). A clone may be shallow, and is deepened when a history walk needs
more (:mod:`.history`). One class of about 400 lines: the fetch (its depth and its
deepening), the push, its retries and what counts as a race or a refusal read best in
one place.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pygit2
import tenacity

from automator.errors import GitError
from automator.git.clone import (
    STATE_DIR_HINT,
    Clone,
    Damaged,
    check_refs,
    prune,
    state_dir_problem,
    verify,
)
from automator.git.deadline import DEADLINE_SECONDS, deadline_for
from automator.git.objects import build_tree, create_commit, holds
from automator.git.signing import Signer
from automator.git.snapshot import Identity, NewCommit, Snapshot, WriteResult
from automator.git.transport import TRUST, Callbacks, GitAuth, effective_auth, parse_url, scrub

logger = logging.getLogger(__name__)

MAX_PUSH_ATTEMPTS = 5
BACKOFF_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
SERVER_TIMEOUT_S = 30.0
PUSH_REF = "refs/automator/push/"
UNSHALLOW = 2147483647  # libgit2's GIT_FETCH_DEPTH_UNSHALLOW: fetch what a shallow clone lacks


class _LostRace(Exception):
    """The push did not land; fetch and render again."""


class GitRepo:
    """One remote branch, mirrored in a bare clone under ``cache_dir``.

    ``auth`` carries credentials and trust; a password written in ``url`` is moved
    into it and never stored. ``timeout_s`` bounds every network wait (libgit2
    keeps it per process: the last GitRepo to connect sets it); ``deadline_s``
    bounds each whole fetch, push or listing (:mod:`.deadline`). ``depth`` (0: all)
    makes the first fetch of a fresh clone shallow, that many commits deep, and a
    shallow clone stays that deep; a history walk that reaches its boundary before it
    has its answer fetches the whole history (``Snapshot.deepen``), and the clone is
    complete from then on. ``shallow`` is ``depth=1``, only the tip. Neither applies
    over the local transport, which cannot fetch shallow; with neither, a shallow clone
    left by an earlier setting is made complete.
    """

    def __init__(
        self,
        url: str,
        branch: str,
        cache_dir: Path,
        *,
        auth: GitAuth | None = None,
        timeout_s: float = SERVER_TIMEOUT_S,
        shallow: bool = False,
        depth: int = 0,
        max_attempts: int = MAX_PUSH_ATTEMPTS,
        backoff_s: float = BACKOFF_SECONDS,
        deadline_s: float = DEADLINE_SECONDS,
    ) -> None:
        self.endpoint = parse_url(url)
        self.url = self.endpoint.url
        self.branch = branch
        self.auth = effective_auth(self.endpoint, auth)
        self.timeout_s = timeout_s
        local = self.endpoint.scheme == "file"
        self.depth = 0 if local else (depth or (1 if shallow else 0))
        self.shallow = self.depth == 1
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.deadline_s = deadline_s
        key = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / f"repo-{key}.git"
        self._clone = Clone(self.path, self.url, self.display_url)

    def __repr__(self) -> str:
        return f"GitRepo({self.display_url!r}, {self.branch!r})"

    @property
    def display_url(self) -> str:
        """The URL without any credentials, for messages."""
        return self.endpoint.display

    def fetch(self) -> Snapshot:
        """Fetch the branch and return a snapshot of its tip."""
        return self._clone.run(self._fetch)

    def write(
        self,
        render: Callable[[Snapshot], NewCommit | None],
        *,
        author: Identity,
        committer: Identity | None = None,
        sign: Signer | None = None,
        push_branch: str | None = None,
        force: bool = False,
    ) -> WriteResult:
        """Commit what ``render`` returns on the branch tip and push it.

        ``render`` is called again on the new tip after every lost race, so the
        change is re-planned from what the remote holds now. With ``push_branch``
        the commit is still built on the tip of ``branch`` but pushed to
        ``push_branch`` (``force=True`` replaces what is there: pull requests).
        """
        target = push_branch or self.branch
        if force and target == self.branch:
            raise ValueError(f"refusing to force-push the source branch {self.branch!r}")
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_random_exponential(self.backoff_s, BACKOFF_MAX_SECONDS),
            retry=tenacity.retry_if_exception_type(_LostRace),
            # not a method of ours: tenacity's Retrying is a reference cycle, and it must
            # not keep this repo (and its libgit2 handle) alive until the collector runs
            before_sleep=functools.partial(_log_retry, self.display_url, self.max_attempts),
            reraise=True,
        )

        def attempts(repo: pygit2.Repository) -> WriteResult:
            try:
                for attempt in retrying:
                    with attempt:
                        number = attempt.retry_state.attempt_number
                        snapshot = self._fetch(repo)
                        change = render(snapshot)
                        if change is None:
                            return WriteResult(None, number, target)
                        return self._commit_and_push(
                            repo, snapshot, change, number, target, force,
                            author, committer or author, sign,
                        )  # fmt: skip
            except _LostRace as lost:
                raise GitError(
                    f"{self.display_url}: push to {target!r} lost {self.max_attempts} times"
                    f" (last: {lost}); another writer keeps winning, the next cycle retries",
                    transient=True,
                ) from lost
            raise AssertionError("unreachable: tenacity either returns or raises")

        return self._clone.run(attempts)

    def push_refspec(self, commit: str, refspec: str) -> None:
        """Push ``commit`` to the destination of ``refspec`` too (Flux ``git.push.refspec``).

        The source side names what was just written (``HEAD`` or a branch); no force.
        """
        source, sep, destination = refspec.partition(":")
        branch = destination.removeprefix("refs/heads/")
        if not (source and sep and branch) or branch.startswith("refs/") or source[0] == "+":
            raise GitError(
                f"{self.display_url}: refspec {refspec!r}: only <src>:refs/heads/<branch>"
                " is supported (no '+', no deletion, no other refs)"
            )

        def push(repo: pygit2.Repository) -> None:
            repo.references.create(PUSH_REF + "refspec", pygit2.Oid(hex=commit), force=True)
            try:
                self._push(repo, f"{PUSH_REF}refspec:refs/heads/{branch}", branch)
            except _LostRace as lost:
                raise GitError(
                    f"{self.display_url}: push of refspec {refspec!r} failed ({lost});"
                    " the next cycle retries",
                    transient=True,
                ) from lost

        self._clone.run(push)

    def remote_branches(self, prefix: str = "") -> dict[str, str]:
        """Branches on the remote whose names start with ``prefix``, with their tips."""
        return self._clone.run(lambda repo: self._remote_heads(repo, prefix))

    def delete_branch(self, branch: str) -> bool:
        """Delete ``branch`` on the remote; False when it was not there."""
        if branch == self.branch:
            raise ValueError(f"refusing to delete the source branch {self.branch!r}")

        def delete(repo: pygit2.Repository) -> bool:
            if branch not in self._remote_heads(repo, branch):
                return False
            try:
                self._push(repo, f":refs/heads/{branch}", branch)
            except _LostRace as lost:
                raise GitError(
                    f"{self.display_url}: deleting branch {branch!r} failed ({lost}); the next"
                    " cycle retries",
                    transient=True,
                ) from lost
            if f"refs/remotes/origin/{branch}" in repo.references:
                repo.references.delete(f"refs/remotes/origin/{branch}")
            return True

        return self._clone.run(delete)

    # -- the steps ----------------------------------------------------------------

    def _fetch(self, repo: pygit2.Repository) -> Snapshot:
        ref = f"refs/heads/{self.branch}"
        remote = repo.remotes["origin"]
        try:
            with self._deadline("fetch"):
                remote.fetch(
                    [f"+{ref}:refs/remotes/origin/{self.branch}"],
                    callbacks=self._callbacks(),
                    depth=self._depth(repo),
                )
        except (pygit2.GitError, OSError) as exc:
            check_refs(repo)  # local damage is no network trouble
            if problem := state_dir_problem(self.path.parent):  # nor is a full disk
                raise GitError(
                    f"{self.display_url}: fetch failed: {problem}; {STATE_DIR_HINT}",
                    transient=True,
                ) from exc
            raise GitError(
                f"{self.display_url}: fetch failed ({scrub(str(exc), self.auth)}); check the URL,"
                " the network and the credentials",
                transient=True,
            ) from exc
        # what this fetch's connection advertised: the truth, whatever refs we keep
        heads = {h.name: str(h.oid) for h in remote.list_heads(connect=False) if h.name}
        prune(repo, heads, self.display_url)
        if ref not in heads:
            raise GitError(
                f"branch {self.branch!r} not found on {self.display_url}; check sources[].branch"
            )
        tip = heads[ref]
        verify(repo, tip)
        repo.references.create(f"refs/remotes/origin/{self.branch}", tip, force=True)
        return Snapshot(repo, tip, deepen=self._deepen if repo.is_shallow else None)

    def _depth(self, repo: pygit2.Repository) -> int:
        """The depth of this fetch: ours for a fresh or still shallow clone, else all."""
        if not self.depth:
            return UNSHALLOW if repo.is_shallow else 0
        fresh = not any(name.startswith("refs/remotes/") for name in repo.references)
        return self.depth if fresh or repo.is_shallow else 0

    def _deepen(self) -> bool:
        """Fetch the whole history behind the shallow clone's boundary; False if that failed."""

        def deepen(repo: pygit2.Repository) -> bool:
            ref = f"refs/heads/{self.branch}"
            with self._deadline("fetching the whole history"):
                repo.remotes["origin"].fetch(
                    [f"+{ref}:refs/remotes/origin/{self.branch}"],
                    callbacks=self._callbacks(),
                    depth=UNSHALLOW,
                )
            repo.free()  # its cached commits still lack the parents the boundary cut off
            logger.info("%s: a history walk reached the shallow clone's end; fetched it all",
                        self.display_url)  # fmt: skip
            return True

        try:
            return self._clone.run(deepen)
        except (pygit2.GitError, OSError, GitError) as exc:
            logger.warning(
                "%s: fetching the whole history failed (%s); history read so far is used",
                self.display_url,
                scrub(str(exc), self.auth),
            )
            return False

    def _commit_and_push(
        self,
        repo: pygit2.Repository,
        snapshot: Snapshot,
        change: NewCommit,
        attempt: int,
        target: str,
        force: bool,
        author: Identity,
        committer: Identity,
        sign: Signer | None,
    ) -> WriteResult:
        base = repo[snapshot.commit_id].peel(pygit2.Commit)
        try:
            tree = build_tree(repo, base.tree, change.files)
        except pygit2.GitError as exc:
            raise self._local_failure(exc) from exc
        if tree == base.tree_id:
            return WriteResult(None, attempt, target)
        before: str | None = snapshot.commit_id
        if target != self.branch:
            before = self._remote_heads(repo, target).get(target)
            if before and holds(repo, before, base.id, tree):
                return WriteResult(before, attempt, target, pushed=False)
        try:
            commit = create_commit(repo, base, tree, change.message, author, committer, sign)
            repo.references.create(PUSH_REF + target, commit, force=True)
        except pygit2.GitError as exc:
            raise self._local_failure(exc) from exc
        refspec = f"{'+' if force else ''}{PUSH_REF}{target}:refs/heads/{target}"
        try:
            self._push(repo, refspec, target, create=target != self.branch)
        except _LostRace as lost:
            self._refused_unless_moved(repo, target, before, lost)
            raise
        repo.references.create(f"refs/remotes/origin/{target}", commit, force=True)
        logger.info("%s: pushed %s to %s", self.display_url, str(commit)[:12], target)
        return WriteResult(str(commit), attempt, target, pushed=True)

    def _push(
        self, repo: pygit2.Repository, refspec: str, target: str, *, create: bool = True
    ) -> None:
        """Push ``refspec``; raise _LostRace when it may win later, GitError when it never will.

        Without ``create`` the push is abandoned when the server does not have ``target``.
        """
        ref = f"refs/heads/{target}"
        callbacks = self._callbacks()
        callbacks.must_exist = None if create else ref
        try:
            with self._deadline(f"push to {target!r}"):
                repo.remotes["origin"].push([refspec], callbacks=callbacks)
        except pygit2.GitError as exc:
            said = _hook_output(callbacks.remote_said)
            raise _LostRace(scrub(f"{exc}{': ' + said if said else ''}", self.auth)) from exc
        if ref in callbacks.refused:
            reason = scrub(callbacks.refused[ref], self.auth)
            said = _hook_output(callbacks.remote_said)
            if "declined" in reason:
                raise GitError(
                    f"{self.display_url}: the server refused the push to {target!r}: {reason}"
                    f"{': ' + said if said else ''}; a hook or branch protection blocks it,"
                    " ask the repository owner",
                    transient=False,
                )
            raise _LostRace(f"{reason}{': ' + said if said else ''}")
        if ref not in callbacks.accepted:
            raise _LostRace("the server did not confirm the update")

    def _refused_unless_moved(
        self, repo: pygit2.Repository, target: str, before: str | None, lost: _LostRace
    ) -> None:
        """A failed push after which the branch is where it was is a refusal, not a race."""
        try:
            now = self._remote_heads(repo, target).get(target)
        except GitError:
            return  # the remote cannot tell us now: treat it as a race
        if now == before:
            raise GitError(
                f"{self.display_url}: the server refused the push to {target!r} ({lost}); the"
                " branch did not move, so no other writer won: fix what the server says, or"
                " ask the repository owner",
                transient=False,
            ) from lost

    def _remote_heads(self, repo: pygit2.Repository, prefix: str) -> dict[str, str]:
        try:
            with self._deadline("listing branches"):
                heads = repo.remotes["origin"].list_heads(callbacks=self._callbacks())
        except pygit2.GitError as exc:
            raise GitError(
                f"{self.display_url}: listing branches failed ({scrub(str(exc), self.auth)});"
                " check the URL, the network and the credentials",
                transient=True,
            ) from exc
        start = "refs/heads/" + prefix
        return {
            h.name.removeprefix("refs/heads/"): str(h.oid)
            for h in heads
            if h.name and h.name.startswith(start)
        }

    def _local_failure(self, exc: pygit2.GitError) -> Exception:
        """Writing to the clone failed: a full or read-only state_dir, else damage."""
        if problem := state_dir_problem(self.path.parent):
            return GitError(f"{self.display_url}: {problem}; {STATE_DIR_HINT}", transient=True)
        return Damaged(" ".join(str(exc).split()))

    def _deadline(self, what: str) -> AbstractContextManager[None]:
        return deadline_for(self.endpoint, self.deadline_s, f"{self.display_url}: {what}")

    def _callbacks(self) -> Callbacks:
        known_hosts = TRUST.prepare(self.auth, self.timeout_s)
        return Callbacks(self.endpoint, self.auth, known_hosts)


def _log_retry(display: str, attempts: int, state: tenacity.RetryCallState) -> None:
    lost = state.outcome.exception() if state.outcome else None
    logger.info(
        "%s: push lost (%s); retrying on the new tip (attempt %d of %d)",
        display,
        lost,
        state.attempt_number + 1,
        attempts,
    )


def _hook_output(lines: list[str]) -> str:
    """What a refusing hook printed, on one line, without progress chatter."""
    text = " ".join(
        line.strip()
        for chunk in lines
        for line in chunk.replace("\r", "\n").splitlines()
        if line.strip() and "%" not in line
    )
    return text[:300]
