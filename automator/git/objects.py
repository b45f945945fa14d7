"""Git objects without a checkout: trees rebuilt along changed paths, commits from them."""

from __future__ import annotations

import time

import pygit2
from pygit2.enums import FileMode

from automator.errors import GitError
from automator.git.signing import Signer
from automator.git.snapshot import Identity


def build_tree(
    repo: pygit2.Repository, tree: pygit2.Tree | None, files: dict[str, bytes]
) -> pygit2.Oid:
    """A tree like ``tree`` with ``files`` written; only the trees on their paths are rebuilt."""
    here: dict[str, bytes] = {}
    below: dict[str, dict[str, bytes]] = {}
    for path, data in files.items():
        head, sep, rest = path.partition("/")
        if head in ("", ".", "..") or (sep and not rest):
            raise GitError(f"{path!r} is not a repository-relative file path; report this bug")
        if sep:
            below.setdefault(head, {})[rest] = data
        else:
            here[head] = data
    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    for name, data in here.items():
        mode = _mode(tree, name, FileMode.BLOB)
        builder.insert(name, repo.create_blob(data), mode)
    for name, subfiles in below.items():
        subtree = None
        if _mode(tree, name, FileMode.TREE) == FileMode.TREE and tree is not None and name in tree:
            subtree = repo[tree[name].id].peel(pygit2.Tree)
        builder.insert(name, build_tree(repo, subtree, subfiles), FileMode.TREE)
    oid: pygit2.Oid = builder.write()
    return oid


def _mode(tree: pygit2.Tree | None, name: str, wanted: FileMode) -> FileMode:
    """The mode to write ``name`` with; refuses to turn a link, file or directory into another."""
    if tree is None or name not in tree:
        return wanted
    mode = FileMode(tree[name].filemode)
    blobs = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE)
    if (wanted in blobs and mode in blobs) or mode == wanted:
        return mode
    raise GitError(f"{name!r} is a {mode.name or mode} in the repository; not overwriting it")


def holds(repo: pygit2.Repository, commit_id: str, parent: pygit2.Oid, tree: pygit2.Oid) -> bool:
    """Whether ``commit_id`` (if we have it) is ``tree`` on top of ``parent``."""
    try:
        commit = repo[commit_id].peel(pygit2.Commit)
    except (KeyError, ValueError):
        return False
    return bool(commit.tree_id == tree and commit.parent_ids == [parent])


def create_commit(
    repo: pygit2.Repository,
    base: pygit2.Commit,
    tree: pygit2.Oid,
    message: str,
    author: Identity,
    committer: Identity,
    sign: Signer | None,
) -> pygit2.Oid:
    now = int(time.time())
    who = pygit2.Signature(author.name, author.email, now, 0)
    by = pygit2.Signature(committer.name, committer.email, now, 0)
    if sign is None:
        oid: pygit2.Oid = repo.create_commit(None, who, by, message, tree, [base.id])
        return oid
    content = str(repo.create_commit_string(who, by, message, tree, [base.id]))
    signed: pygit2.Oid = repo.create_commit_with_signature(content, sign.sign(content.encode()))
    return signed
