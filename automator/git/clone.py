"""The bare clone under ``state_dir``: a cache, locked, and cloned again when damaged.

A truncated pack, a garbage or missing object, or garbage in ``config`` or
``packed-refs`` is a :class:`Damaged` clone. :meth:`Clone.run` then moves the clone
aside (``<name>.damaged``, replacing an older one), logs one warning, and runs the
operation once more on a fresh clone. A reader that meets damage after the fetch
(:class:`~automator.git.snapshot.Snapshot`) leaves :data:`DAMAGED_MARK` in the
clone, so the next operation starts afresh.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pygit2

from automator.errors import GitError

logger = logging.getLogger(__name__)

DAMAGED_MARK = "automator-damaged"  # left by a reader that met a damaged object
PROBE_BYTES = 4096  # written, synced and removed to prove a directory has room
STATE_DIR_HINT = (
    "point state_dir (or --state-dir, AUTOMATOR_STATE_DIR) at a writable directory with free space"
)
VERIFY_BYTES = 1 << 20  # blobs up to this size are read back whole after each fetch
T = TypeVar("T")


class Damaged(Exception):
    """The bare clone cannot be read back; it is set aside and cloned again."""


class Clone:
    """One bare clone at ``path`` whose ``origin`` is ``url``; ``display`` names it in messages."""

    def __init__(self, path: Path, url: str, display: str) -> None:
        self.path = path
        self.url = url
        self.display = display
        self._repo: pygit2.Repository | None = None
        self._holder: int | None = None  # the thread inside run(), which may call run() again

    def run(self, operation: Callable[[pygit2.Repository], T]) -> T:
        """``operation`` on the clone, locked against other writers on this host (threads
        or processes); on damage, once more on a fresh clone. Called again from inside an
        operation (a history walk deepening the clone while a write renders), it runs at once."""
        if self._holder == threading.get_ident() and self._repo is not None:
            return operation(self._repo)
        with self._locked():
            self._holder = threading.get_ident()
            try:
                return self._run(operation)
            except BaseException:
                self._free()  # a failing source keeps no packs, maps or caches open
                raise
            finally:
                self._holder = None

    def _free(self) -> None:
        """Free the libgit2 handle (open packs, maps, caches); the next operation opens it
        again. pygit2's Repository is a reference cycle: dropping it frees nothing until the
        garbage collector runs."""
        if self._repo is not None:
            self._repo.free()
            self._repo = None

    def _run(self, operation: Callable[[pygit2.Repository], T]) -> T:
        try:
            return operation(self._open())
        except Damaged as exc:
            damaged = str(exc)  # only the text: its frames hold the clone's objects open
        self._set_aside(damaged)
        try:
            return operation(self._open())
        except Damaged as again:
            raise GitError(
                f"{self.display}: the fresh clone in {self.path} is damaged too ({again});"
                " check the disk under state_dir and the remote repository",
                transient=True,
            ) from again

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(f"{self.path}.lock", "a+b")  # noqa: SIM115 -- closed below
        except OSError as exc:
            problem = state_dir_problem(self.path.parent) or f"{exc.strerror or exc}"
            raise GitError(f"{self.display}: {problem}; {STATE_DIR_HINT}", transient=True) from exc
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _open(self) -> pygit2.Repository:
        if (self.path / DAMAGED_MARK).exists():
            raise Damaged("a reader met a damaged object")
        # We hold the lock, so any *.lock file left here belongs to a killed writer.
        for stale in [*self.path.glob("*.lock"), *(self.path / "refs").rglob("*.lock")]:
            logger.warning("%s: removing %s left by a killed writer", self.display, stale)
            stale.unlink(missing_ok=True)
        try:
            if self._repo is None:
                if (self.path / "HEAD").exists():
                    self._repo = pygit2.Repository(str(self.path))
                else:
                    self._repo = pygit2.init_repository(str(self.path), bare=True)
            repo = self._repo
            if "origin" not in repo.remotes.names():
                repo.remotes.create("origin", self.url)
            elif repo.remotes["origin"].url != self.url:
                repo.remotes.set_url("origin", self.url)
        except pygit2.GitError as exc:
            self._repo = None
            raise Damaged(str(exc)) from exc
        return repo

    def _set_aside(self, damaged: str) -> None:
        aside = self.path.with_name(self.path.name + ".damaged")
        if self._repo is not None:
            self._repo.free()
            self._repo = None
        # libgit2 shares open packs by path across handles: drop every handle on the old
        # clone, or the fresh clone's identically named pack is read from the damaged one
        gc.collect()
        try:
            shutil.rmtree(aside, ignore_errors=True)
            self.path.rename(aside)
        except OSError as exc:
            raise GitError(
                f"{self.display}: the clone in {self.path} is damaged ({damaged}) and cannot"
                f" be moved aside ({exc.strerror or exc}); remove it by hand",
                transient=False,
            ) from exc
        logger.warning(
            "%s: the clone in %s is damaged (%s); moved it to %s and cloning again",
            self.display,
            self.path,
            damaged,
            aside,
        )


def check_refs(repo: pygit2.Repository) -> None:
    """Raise :class:`Damaged` when the clone's references or their commits cannot be read."""
    try:
        # a fresh handle: libgit2 remembers a packed-refs file it failed to read as empty
        fresh = pygit2.Repository(repo.path)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise Damaged(describe(exc)) from exc
    try:
        try:
            targets = [fresh.references[name].resolve().target for name in fresh.references]
        except (pygit2.GitError, KeyError, ValueError) as exc:
            raise Damaged(describe(exc)) from exc
        for target in targets:
            verify(fresh, str(target))
    finally:
        fresh.free()  # a reference cycle: its packs would stay mapped until a collection


def verify(repo: pygit2.Repository, tip: str) -> None:
    """Read back the commit ``tip``, its trees and its blobs (only the header of a blob over
    ``VERIFY_BYTES``: the reader meets those, see DAMAGED_MARK); :class:`Damaged` if one
    fails. A config repository is small: this costs what one scan of it costs."""
    try:
        trees = [repo[tip].peel(pygit2.Commit).tree]
        while trees:
            for entry in trees.pop():
                if entry.type_str == "tree":
                    trees.append(repo[entry.id].peel(pygit2.Tree))
                elif entry.type_str == "blob" and repo.odb.read_header(entry.id)[1] <= VERIFY_BYTES:
                    repo.odb.read(entry.id)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise Damaged(describe(exc)) from exc


def describe(exc: Exception) -> str:
    """What went wrong reading an object, on one line."""
    if isinstance(exc, KeyError):
        return f"object {exc.args[0] if exc.args else '?'} is missing"
    return " ".join(str(exc).split())


def state_dir_problem(path: Path, *, create: bool = False) -> str | None:
    """Why ``path`` cannot hold clones and caches, on one line; None when it can.

    With ``create`` a missing directory is made first. The probe writes and syncs
    ``PROBE_BYTES``, so a full disk is found as well as a missing write permission.
    """
    try:
        if path.exists() and not path.is_dir():
            return f"state_dir {path} is not writable: it is a file, not a directory"
        if create:
            path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path) as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        return f"state_dir {path} is not writable: {exc.strerror or exc}"
    return None


def prune(repo: pygit2.Repository, heads: dict[str, str], display: str) -> None:
    """Delete the tracking refs of branches the remote no longer advertises."""
    for name in list(repo.references):
        branch = name.removeprefix("refs/remotes/origin/")
        if branch != name and f"refs/heads/{branch}" not in heads:
            logger.info("%s: branch %r is gone from the remote; pruned", display, branch)
            repo.references.delete(name)
