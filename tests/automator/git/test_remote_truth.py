"""The remote is the truth: a branch it no longer has is never pushed again, a push it
refuses is no lost race."""

from __future__ import annotations

from pathlib import Path

import pytest

from automator.errors import GitError
from automator.git import GitRepo, NewCommit, Snapshot
from testing import githttp
from testing.githttp import GitHttp
from testing.gitserver import GitDaemon, git
from tests.automator.git.test_write import BOT, bump


def heads(bare: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname)", "refs/heads", cwd=bare).split()


@pytest.mark.parametrize("change", ["rename", "delete"])
def test_a_branch_gone_from_the_remote_is_never_created_again(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path, change: str
) -> None:
    bare = remotes / "fleet.git"
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    repo.fetch()  # the clone now tracks main
    if change == "rename":
        git("branch", "-m", "main", "trunk", cwd=bare)
    else:
        git("update-ref", "refs/heads/keep", "main", cwd=bare)
        git("symbolic-ref", "HEAD", "refs/heads/keep", cwd=bare)
        git("update-ref", "-d", "refs/heads/main", cwd=bare)
    before = heads(bare)
    for _ in range(2):  # the daemon's next cycles
        with pytest.raises(GitError) as caught:
            repo.write(bump, author=BOT)
        assert str(caught.value) == (
            f"branch 'main' not found on {git_daemon.url('fleet.git')}; check sources[].branch"
        )
        assert caught.value.transient is False
    assert heads(bare) == before
    assert "refs/remotes/origin/main" not in pygit_refs(repo)  # the stale tracking ref is pruned


def pygit_refs(repo: GitRepo) -> list[str]:
    return git("for-each-ref", "--format=%(refname)", cwd=repo.path).split()


def test_a_branch_deleted_between_fetch_and_push_is_not_created_by_the_push(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    bare = remotes / "fleet.git"
    git("update-ref", "refs/heads/keep", "main", cwd=bare)
    git("symbolic-ref", "HEAD", "refs/heads/keep", cwd=bare)

    def render(snapshot: Snapshot) -> NewCommit | None:
        git("update-ref", "-d", "refs/heads/main", cwd=bare)  # after our fetch, before our push
        return bump(snapshot)

    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    with pytest.raises(GitError, match="branch 'main' not found on git://") as caught:
        repo.write(render, author=BOT)
    assert caught.value.transient is False
    assert heads(bare) == ["refs/heads/keep"]


def test_the_missing_branch_message_names_the_remote_without_credentials(
    git_http: GitHttp, tmp_path: Path
) -> None:
    url = git_http.url("fleet.git").replace("://", f"://{githttp.USER}:{githttp.PASSWORD}@")
    repo = GitRepo(url, "production", tmp_path / "cache")
    with pytest.raises(GitError) as caught:
        repo.fetch()
    assert str(caught.value) == (
        f"branch 'production' not found on {git_http.url('fleet.git')}; check sources[].branch"
    )


def test_our_pull_request_branches_are_still_created(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    assert repo.write(bump, author=BOT, push_branch="automator/api", force=True).pushed
    assert heads(remotes / "fleet.git") == ["refs/heads/automator/api", "refs/heads/main"]


def big_change(snapshot: Snapshot) -> NewCommit:
    return NewCommit({"blob.bin": bytes(range(256)) * 64}, "Add a blob over the size limit\n")


@pytest.mark.parametrize("refusal", ["size-limit", "checked-out"])
def test_a_remote_that_refuses_every_push_is_a_permanent_error_after_one_attempt(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path, refusal: str
) -> None:
    if refusal == "size-limit":
        name = "fleet.git"
        git("config", "receive.maxInputSize", "100", cwd=remotes / name)
    else:  # a non-bare repository with main checked out refuses updates to main
        name = "work"
        git("clone", "-q", str(remotes / "fleet.git"), str(remotes / name))
    rendered: list[str] = []

    def render(snapshot: Snapshot) -> NewCommit:
        rendered.append(snapshot.commit_id)
        return big_change(snapshot)

    repo = GitRepo(git_daemon.url(name), "main", tmp_path / "cache", backoff_s=0.01)
    with pytest.raises(GitError, match="the server refused the push to 'main'") as caught:
        repo.write(render, author=BOT)
    assert caught.value.transient is False
    assert "lost" not in str(caught.value) and "\n" not in str(caught.value)
    if refusal == "checked-out":
        assert "branch is currently checked out" in str(caught.value)
    assert len(rendered) == 1  # refused once, never retried
