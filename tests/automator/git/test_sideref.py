"""Side refs (``refs/automator/...``) against a real git daemon: compare-and-swap, a lost
race told apart from a refusal, and local copies the branch's fetch and cleanup never touch."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.errors import GitError
from automator.git import GitRepo, Identity
from automator.git.sideref import LOCAL, SideRef, Stale
from testing.gitserver import GitDaemon, git
from tests.automator.git.test_write import bump

BOT = Identity.parse("automator <bot@example.test>")
SEEN = "refs/automator/first-seen/fleet"
BOARD = "refs/automator/dashboard/fleet"


def remote_refs(bare: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname)", "refs/automator", cwd=bare).split()


def test_create_only_then_swap_from_what_was_read(git_daemon: GitDaemon, remotes: Path,
                                                  tmp_path: Path) -> None:  # fmt: skip
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "a")
    other = SideRef(GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "b"), BOARD)
    side = SideRef(repo, BOARD)
    assert side.read().commit is None
    claim = side.write(None, None, "claim\n", BOT)
    with pytest.raises(Stale):
        other.write(None, None, "claim too\n", BOT)  # create-only: the ref exists now
    read = other.read()
    assert (read.commit, read.data, read.message) == (claim, None, "claim\n") and read.written > 0
    recorded = other.write(None, claim, "claim\n\nAutomator-Dashboard-Issue: 7\n", BOT)
    with pytest.raises(Stale):
        side.write(None, claim, "late\n", BOT)  # it moved since this one read it
    assert git("rev-parse", BOARD, cwd=remotes / "fleet.git").strip() == recorded
    assert git("rev-list", "--count", BOARD, cwd=remotes / "fleet.git").strip() == "1"


def test_a_refusing_hook_is_an_error_not_a_lost_race(git_daemon: GitDaemon, remotes: Path,
                                                    tmp_path: Path) -> None:  # fmt: skip
    hook = remotes / "fleet.git" / "hooks" / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/automator/*) exit 1;; esac\n')
    hook.chmod(0o755)
    side = SideRef(GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "a"), BOARD)
    with pytest.raises(GitError, match="refused the update") as refused:
        side.write(None, None, "claim\n", BOT)
    assert not refused.value.transient and "refs/automator/*" in str(refused.value)
    assert remote_refs(remotes / "fleet.git") == []


def test_the_branch_fetch_and_cleanup_never_touch_the_local_copies(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    bare = remotes / "fleet.git"
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    repo.fetch()
    seen, board = SideRef(repo, SEEN, "first-seen.txt"), SideRef(repo, BOARD)
    seen.write(b"a 1 2026-12-01T10:00:00Z\n", None, "seen\n", BOT)
    board.write(None, None, "claim\n", BOT)
    assert seen.read().data == b"a 1 2026-12-01T10:00:00Z\n"

    repo.write(bump, author=BOT, push_branch="automator/api", force=True)
    git("branch", "gone", "main", cwd=bare)
    repo.fetch()
    git("branch", "-D", "gone", cwd=bare)
    repo.fetch()  # prunes the tracking refs of branches the remote dropped
    assert repo.delete_branch("automator/api") is True

    local = repo._clone.run(lambda r: sorted(n for n in r.references if n.startswith(LOCAL)))
    assert local == [LOCAL + "automator/dashboard/fleet", LOCAL + "automator/first-seen/fleet"]
    assert remote_refs(bare) == [BOARD, SEEN]
    assert seen.read().data == b"a 1 2026-12-01T10:00:00Z\n" and board.read().message == "claim\n"
