"""The bare clone under ``state_dir``: a cache, locked, and cloned again when damaged.

A truncated pack, a garbage or missing object, or garbage in ``config`` or
``packed-refs`` is a :class:`Damaged` clone. :meth:`Clone.run` then moves the clone
aside (``<name>.damaged``, replacing an older one), logs one warning, and runs the
operation once more on a fresh clone. A reader that meets damage after the fetch
(:class:`~automator.git.snapshot.Snapshot`) leaves :data:`DAMAGED_MARK` in the
clone, so the next operation starts afresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pygit2

from automator.errors import GitError

logger = logging.getLogger(__name__)

DAMAGED_MARK = "automator-damaged"  # left by a reader that met a damaged object
VERIFIED = "automator-verified"  # the last tip whose every object was read back whole
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

    def run(self, operation: Callable[[pygit2.Repository], T]) -> T:
        """``operation`` on the clone, locked against other writers on this host (threads
        or processes); on damage, once more on a fresh clone."""
        with self._locked():
            try:
                return operation(self._open())
            except Damaged as damaged:
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
            raise GitError(
                f"state_dir: cannot use {self.path.parent} ({exc.strerror or exc});"
                " make it a writable directory with free space",
                transient=False,
            ) from exc
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

    def _set_aside(self, damaged: Damaged) -> None:
        aside = self.path.with_name(self.path.name + ".damaged")
        if self._repo is not None:
            self._repo.free()
            self._repo = None
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
        for name in repo.references:
            target = repo.references[name].resolve().target
            repo.odb.read_header(target)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise Damaged(_describe(exc)) from exc


def verify(repo: pygit2.Repository, tip: str) -> None:
    """Read every object of ``tip`` back whole, once per tip; :class:`Damaged` if one fails."""
    path = Path(repo.path) / VERIFIED
    try:
        if path.read_text().strip() == tip:
            return
    except OSError:
        pass
    try:
        commit = repo[tip].peel(pygit2.Commit)
        trees = [commit.tree]
        while trees:
            for entry in trees.pop():
                if entry.type_str == "tree":
                    trees.append(repo[entry.id].peel(pygit2.Tree))
                elif entry.type_str == "blob":
                    repo.odb.read(entry.id)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise Damaged(_describe(exc)) from exc
    with contextlib.suppress(OSError):  # not recorded: read back again next time
        path.write_text(tip + "\n")


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"object {exc.args[0] if exc.args else '?'} is missing"
    return " ".join(str(exc).split())
