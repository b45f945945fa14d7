"""Git without a checkout: a persistent bare clone, commits built from blobs, push.

Git is the lock. A push is a compare-and-swap on the remote branch; when it loses
(however libgit2 reports that), we fetch, render the change again on the new tip
and push again, a bounded number of times. If the new tip already holds the
change, nothing is committed.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pygit2

from automator.errors import GitError

logger = logging.getLogger(__name__)

MAX_PUSH_ATTEMPTS = 5
BACKOFF_SECONDS = 0.5
SERVER_TIMEOUT_MS = 30_000

pygit2.settings.server_timeout = SERVER_TIMEOUT_MS
pygit2.settings.server_connect_timeout = SERVER_TIMEOUT_MS


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


@dataclass
class Snapshot:
    """The tree of one commit, read from the object database."""

    repo: pygit2.Repository
    commit_id: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def read(self, path: str) -> bytes:
        tree = self.repo[self.commit_id].peel(pygit2.Tree)
        entry = tree[path]
        return bytes(self.repo[entry.id].peel(pygit2.Blob).data)

    def walk(self, paths: Sequence[str]) -> Iterator[tuple[str, bytes]]:
        """Regular files under ``paths`` (all when empty); symlinks and submodules skipped."""
        tree = self.repo[self.commit_id].peel(pygit2.Tree)
        roots = [p.strip("/") for p in paths if p.strip("/") not in ("", ".")] or [""]
        for root in roots:
            if root:
                try:
                    obj = self.repo[tree[root].id]
                except KeyError:
                    self.skipped.append((root, "path not found at this commit"))
                    continue
            else:
                obj = tree
            if isinstance(obj, pygit2.Blob):
                yield root, bytes(obj.data)
                continue
            yield from self._walk_tree(obj.peel(pygit2.Tree), root)

    def _walk_tree(self, tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, bytes]]:
        for entry in tree:
            name = entry.name or ""
            path = f"{prefix}/{name}" if prefix else name
            mode = entry.filemode
            if mode == pygit2.enums.FileMode.TREE:
                yield from self._walk_tree(self.repo[entry.id].peel(pygit2.Tree), path)
            elif mode in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
                yield path, bytes(self.repo[entry.id].peel(pygit2.Blob).data)
            elif mode == pygit2.enums.FileMode.LINK:
                self.skipped.append((path, "symbolic link, not followed"))
            else:
                self.skipped.append((path, "submodule, not followed"))


class _PushRecorder(pygit2.RemoteCallbacks):
    """Collects what the server said about each ref we pushed."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: dict[str, str] = {}
        self.accepted: set[str] = set()

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is None:
            self.accepted.add(refname)
        else:
            self.refused[refname] = message


class GitRepo:
    """One remote branch, mirrored in a bare clone under ``cache_dir``."""

    def __init__(self, url: str, branch: str, cache_dir: Path) -> None:
        self.url = url
        self.branch = branch
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.path = Path(cache_dir) / f"repo-{key}.git"
        self._repo: pygit2.Repository | None = None

    @property
    def display_url(self) -> str:
        """The URL without any credentials, for messages."""
        scheme, sep, rest = self.url.partition("://")
        if sep and "@" in rest.split("/", 1)[0]:
            rest = rest.split("@", 1)[1]
        return f"{scheme}{sep}{rest}"

    def _open(self) -> pygit2.Repository:
        if self._repo is not None:
            return self._repo
        if (self.path / "HEAD").exists():
            self._repo = pygit2.Repository(str(self.path))
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            repo = pygit2.init_repository(str(self.path), bare=True)
            repo.remotes.create("origin", self.url)
            self._repo = repo
        return self._repo

    def fetch(self) -> Snapshot:
        """Fetch the branch and return a snapshot of its tip."""
        repo = self._open()
        ref = f"refs/remotes/origin/{self.branch}"
        try:
            repo.remotes["origin"].fetch([f"+refs/heads/{self.branch}:{ref}"])
        except (pygit2.GitError, OSError) as exc:
            raise GitError(
                f"{self.display_url}: fetch failed ({_one_line(exc)}); check the URL,"
                " the network and the credentials",
                transient=True,
            ) from None
        try:
            tip = repo.references[ref].target
        except KeyError:
            raise GitError(
                f"{self.display_url}: branch {self.branch!r} not found; check sources[].branch"
            ) from None
        return Snapshot(repo, str(tip))

    def write(
        self,
        render: Callable[[Snapshot], NewCommit | None],
        *,
        author: Identity,
        committer: Identity | None = None,
    ) -> WriteResult:
        """Commit what ``render`` returns on the branch tip and push it.

        ``render`` is called again on the new tip after every lost race, so the
        change is re-planned from what the remote holds now.
        """
        for attempt in range(1, MAX_PUSH_ATTEMPTS + 1):
            snapshot = self.fetch()
            change = render(snapshot)
            if change is None:
                return WriteResult(None, attempt)
            commit_id = self._commit(snapshot, change, author, committer or author)
            if commit_id is None:
                return WriteResult(None, attempt)
            refused = self._push(commit_id)
            if refused is None:
                return WriteResult(commit_id, attempt)
            logger.info("%s: push refused (%s); retrying on the new tip", self.display_url, refused)
            time.sleep(BACKOFF_SECONDS * (2 ** (attempt - 1)) * random.uniform(0.5, 1.5))
        raise GitError(
            f"{self.display_url}: push to {self.branch!r} refused {MAX_PUSH_ATTEMPTS} times;"
            " another writer keeps winning or a hook refuses it",
            transient=True,
        )

    def _commit(
        self, snapshot: Snapshot, change: NewCommit, author: Identity, committer: Identity
    ) -> str | None:
        repo = snapshot.repo
        base = repo[snapshot.commit_id].peel(pygit2.Commit)
        index = pygit2.Index()
        index.read_tree(base.tree)
        for path, data in sorted(change.files.items()):
            mode = pygit2.enums.FileMode.BLOB
            if path in index:
                mode = index[path].mode
            index.add(pygit2.IndexEntry(path, repo.create_blob(data), mode))
        tree = index.write_tree(repo)
        if tree == base.tree.id:
            return None
        now = int(time.time())
        oid = repo.create_commit(
            None,
            pygit2.Signature(author.name, author.email, now, 0),
            pygit2.Signature(committer.name, committer.email, now, 0),
            change.message,
            tree,
            [base.id],
        )
        return str(oid)

    def _push(self, commit_id: str) -> str | None:
        """Push ``commit_id`` to the branch; None on success, else why it was refused."""
        repo = self._open()
        local = f"refs/automator/push/{self.branch}"
        repo.references.create(local, pygit2.Oid(hex=commit_id), force=True)
        target = f"refs/heads/{self.branch}"
        recorder = _PushRecorder()
        try:
            repo.remotes["origin"].push([f"{local}:{target}"], callbacks=recorder)
        except pygit2.GitError as exc:
            return _one_line(exc)
        if target in recorder.refused:
            return recorder.refused[target]
        if target not in recorder.accepted:
            return "the server did not confirm the update"
        repo.references.create(
            f"refs/remotes/origin/{self.branch}", pygit2.Oid(hex=commit_id), force=True
        )
        return None


def _one_line(exc: Any) -> str:
    return " ".join(str(exc).split())
