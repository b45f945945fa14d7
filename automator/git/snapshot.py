"""What flows in and out of a write: identities, a new commit, a snapshot, a result."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from automator.errors import GitError
from automator.git.clone import DAMAGED_MARK, describe


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    email: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Read ``"Name <email>"``."""
        name, sep, rest = text.partition("<")
        if not sep or not rest.endswith(">") or not name.strip():
            raise ValueError(f"{text!r} is not of the form 'Name <email>'")
        return cls(name.strip(), rest[:-1].strip())


@dataclass(frozen=True, slots=True)
class NewCommit:
    """What to commit on top of a tip: whole new file contents and a message."""

    files: dict[str, bytes]
    message: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    commit: str | None  # the pushed commit, None when nothing needed committing
    attempts: int
    branch: str = ""  # the remote branch written
    pushed: bool = False  # False when the branch already held this commit's content


@dataclass
class Snapshot:
    """The tree of one commit, read from the object database."""

    repo: pygit2.Repository
    commit_id: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    _accept: Callable[[str], bool] | None = field(default=None, repr=False)
    _max_bytes: int | None = field(default=None, repr=False)
    # a shallow clone's whole history, fetched when a history walk reaches its boundary;
    # True once fetched (``automator.git.history``)
    deepen: Callable[[], bool] | None = field(default=None, repr=False, compare=False)

    def read(self, path: str) -> bytes:
        entry = self._object(self.commit_id).peel(pygit2.Tree)[path]
        return self._data(entry.id)

    def walk(
        self,
        paths: Sequence[str],
        *,
        accept: Callable[[str], bool] | None = None,
        max_bytes: int | None = None,
    ) -> Iterator[tuple[str, bytes]]:
        """Regular files under ``paths`` (all when empty); symlinks and submodules skipped.

        Files ``accept`` refuses are passed over unread; files over ``max_bytes`` are
        recorded in ``skipped`` with their size, unread (only the object header is).
        """
        self._accept = accept
        self._max_bytes = max_bytes
        tree = self._object(self.commit_id).peel(pygit2.Tree)
        roots = [p.strip("/") for p in paths if p.strip("/") not in ("", ".")] or [""]
        for root in roots:
            if root:
                try:
                    oid = tree[root].id
                except KeyError:
                    self.skipped.append((root, "path not found at this commit"))
                    continue
                obj = self._object(oid)
            else:
                obj = tree
            if isinstance(obj, pygit2.Blob):
                if self._wanted(root, obj.id):
                    yield root, self._data(obj.id)
                continue
            yield from self._walk_tree(obj.peel(pygit2.Tree), root)

    @property
    def tree_id(self) -> str:
        """The id of the commit's root tree: equal trees hold equal files."""
        return str(self._object(self.commit_id).peel(pygit2.Tree).id)

    def files(self) -> Iterator[tuple[str, str]]:
        """``(path, blob id)`` of every regular file, unread; symlinks and submodules are
        recorded in ``skipped`` as ``walk`` records them."""
        tree = self._object(self.commit_id).peel(pygit2.Tree)
        for path, oid in self._entries(tree, ""):
            yield path, str(oid)

    def size(self, blob: str) -> int:
        """The size of blob ``blob`` (only its header is read)."""
        try:
            return int(self.repo.odb.read_header(pygit2.Oid(hex=blob))[1])
        except (pygit2.GitError, KeyError) as exc:
            raise self._damaged(blob, exc) from exc

    def blob(self, blob: str) -> bytes:
        """The bytes of blob ``blob``."""
        return self._data(pygit2.Oid(hex=blob))

    def _walk_tree(self, tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, bytes]]:
        for path, oid in self._entries(tree, prefix):
            if self._wanted(path, oid):
                yield path, self._data(oid)

    def _entries(self, tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, pygit2.Oid]]:
        for entry in tree:
            name = entry.name or ""
            path = f"{prefix}/{name}" if prefix else name
            mode = entry.filemode
            if mode == pygit2.enums.FileMode.TREE:
                yield from self._entries(self._object(entry.id).peel(pygit2.Tree), path)
            elif mode in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
                yield path, entry.id
            elif mode == pygit2.enums.FileMode.LINK:
                self.skipped.append((path, "symbolic link, not followed"))
            else:
                self.skipped.append((path, "submodule, not followed"))

    def _wanted(self, path: str, oid: pygit2.Oid) -> bool:
        if self._accept is not None and not self._accept(path):
            return False
        if self._max_bytes is not None:
            try:
                _, size = self.repo.odb.read_header(oid)
            except (pygit2.GitError, KeyError) as exc:
                raise self._damaged(oid, exc) from exc
            if size > self._max_bytes:
                self.skipped.append(
                    (path, f"{size} bytes, over the {self._max_bytes}-byte limit; not read")
                )
                return False
        return True

    def _object(self, oid: str | pygit2.Oid) -> pygit2.Object:
        try:
            return self.repo[oid]
        except (pygit2.GitError, KeyError) as exc:
            raise self._damaged(oid, exc) from exc

    def _data(self, oid: pygit2.Oid) -> bytes:
        try:
            return bytes(self._object(oid).peel(pygit2.Blob).data)
        except pygit2.GitError as exc:  # the object is read when its data is asked for
            raise self._damaged(oid, exc) from exc

    def _damaged(self, oid: str | pygit2.Oid, exc: Exception) -> GitError:
        """Object ``oid`` cannot be read: mark the clone, so the next fetch clones afresh."""
        with contextlib.suppress(OSError):  # not marked: the next fetch's own check finds it
            (Path(self.repo.path) / DAMAGED_MARK).touch()
        return GitError(
            f"the clone in {Path(self.repo.path)} is damaged ({describe(exc)});"
            " it is set aside and cloned again on the next run",
            transient=True,
        )
