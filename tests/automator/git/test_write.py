"""Commits without a checkout, retries on lost races, hook refusals, PR branches."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from automator.errors import GitError
from automator.git import GitRepo, Identity, NewCommit, Snapshot
from testing.gitserver import GitDaemon, git
from tests.automator.git.conftest import log

BOT = Identity.parse("automator <bot@example.test>")
API = "clusters/prod/api.yaml"


def bump(snapshot: Snapshot) -> NewCommit | None:
    text = snapshot.read(API)
    if b"1.4.3" in text:
        return None
    return NewCommit({API: text.replace(b"1.4.2", b"1.4.3")}, "Update ghcr.io/acme/api to 1.4.3\n")


def human_push(remote: Path, tmp_path: Path, path: str, text: str) -> None:
    """A person commits ``path`` with the git CLI, pulling again when they lose a race."""
    work = tmp_path / "human"
    if not work.exists():
        git("clone", "-q", str(remote), str(work))
    for _ in range(20):
        git("fetch", "-q", "origin", cwd=work)
        git("reset", "-q", "--hard", "origin/main", cwd=work)
        (work / path).write_text(text)
        git("add", path, cwd=work)
        git("commit", "-qm", f"Human edits {path}", cwd=work)
        try:
            git("push", "-q", "origin", "HEAD:main", cwd=work)
            return
        except RuntimeError:
            time.sleep(0.05)
    raise AssertionError("the human lost 20 races in a row")


def test_write_changes_one_blob_and_keeps_the_rest(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    # the fixture's daemon serves tmp_path/remotes; ours is the same directory
    result = repo.write(bump, author=BOT)
    assert result.commit is not None and result.pushed and result.attempts == 1
    assert log(remotes / "fleet.git") == ["Update ghcr.io/acme/api to 1.4.3", "Initial config"]
    diff = git("diff", "--name-only", "main~1", "main", cwd=remotes / "fleet.git").split()
    assert diff == [API]
    shown = git("show", f"main:{API}", cwd=remotes / "fleet.git")
    assert shown == "image: ghcr.io/acme/api:1.4.3  # automator: semver:~1.4\n"
    assert sorted(p.name for p in repo.path.iterdir() if p.suffix == ".yaml") == []
    assert not (repo.path / "clusters").exists()  # no working tree, ever


def test_second_write_finds_the_update_and_commits_nothing(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    repo.write(bump, author=BOT)
    again = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "other-cache")
    assert again.write(bump, author=BOT).commit is None
    same = again.write(lambda s: NewCommit({API: s.read(API)}, "no-op"), author=BOT)
    assert same.commit is None
    assert len(log(remotes / "fleet.git")) == 2


def test_new_nested_file_and_executable_mode_kept(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    files = {"a/b/c/new.yaml": b"x: 1\n", "README.md": b"fleet 2\n"}
    repo.write(lambda s: NewCommit(files, "Add"), author=BOT)
    bare = remotes / "fleet.git"
    assert git("show", "main:a/b/c/new.yaml", cwd=bare) == "x: 1\n"
    assert git("show", "main:clusters/prod/web.yaml", cwd=bare) == "image: ghcr.io/acme/web:2.0.0\n"


def test_lost_race_renders_again_on_the_new_tip_and_keeps_the_human_commit(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    bare = remotes / "fleet.git"
    seen: list[str] = []

    def render(snapshot: Snapshot) -> NewCommit | None:
        seen.append(snapshot.commit_id)
        if len(seen) == 1:  # a person pushes after our fetch, before our push
            human_push(bare, tmp_path, "README.md", "edited by a person\n")
        return bump(snapshot)

    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache", backoff_s=0.01)
    result = repo.write(render, author=BOT)
    assert result.attempts == 2 and len(set(seen)) == 2
    assert log(bare) == [
        "Update ghcr.io/acme/api to 1.4.3",
        "Human edits README.md",
        "Initial config",
    ]
    assert git("show", "main:README.md", cwd=bare) == "edited by a person\n"


def test_hook_refusal_is_permanent_and_carries_the_hook_message(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    hook = remotes / "fleet.git" / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\necho 'policy: main is protected, open a pull request' >&2\nexit 1\n"
    )
    hook.chmod(0o755)
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    with pytest.raises(GitError) as caught:
        repo.write(bump, author=BOT)
    assert caught.value.transient is False
    assert "policy: main is protected, open a pull request" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(log(remotes / "fleet.git")) == 1


def test_pull_request_branch_is_rebuilt_from_base_force_pushed_and_deleted(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    bare = remotes / "fleet.git"
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    first = repo.write(bump, author=BOT, push_branch="automator/api", force=True)
    assert first.pushed and first.branch == "automator/api"
    assert repo.write(bump, author=BOT, push_branch="automator/api", force=True).pushed is False
    human_push(bare, tmp_path, "README.md", "base moved\n")
    moved = repo.write(bump, author=BOT, push_branch="automator/api", force=True)
    assert moved.pushed and moved.commit != first.commit
    assert (
        git("rev-parse", "automator/api~1", cwd=bare).strip()
        == git("rev-parse", "main", cwd=bare).strip()
    )
    assert log(bare) == ["Human edits README.md", "Initial config"]  # main untouched
    assert repo.remote_branches("automator/") == {"automator/api": moved.commit}
    assert repo.delete_branch("automator/api") is True
    assert repo.delete_branch("automator/api") is False
    assert repo.remote_branches("automator/") == {}


def test_force_push_to_the_source_branch_is_refused(tmp_path: Path, remotes: Path) -> None:
    repo = GitRepo(str(remotes / "fleet.git"), "main", tmp_path / "cache")
    with pytest.raises(ValueError, match="force-push"):
        repo.write(bump, author=BOT, force=True)


def test_shallow_fetch_commits_and_pushes(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    human_push(remotes / "fleet.git", tmp_path, "README.md", "two\n")
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache", shallow=True)
    result = repo.write(bump, author=BOT)
    assert result.commit is not None
    assert (repo.path / "shallow").exists()
    git("fsck", "--strict", cwd=remotes / "fleet.git")
    assert len(log(remotes / "fleet.git")) == 3


def test_stale_lock_files_left_by_a_killed_writer_are_cleared(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    repo.fetch()
    (repo.path / "refs" / "automator" / "push").mkdir(parents=True, exist_ok=True)
    (repo.path / "refs" / "automator" / "push" / "main.lock").write_text("")
    (repo.path / "refs" / "remotes" / "origin" / "main.lock").write_text("")
    fresh = GitRepo(git_daemon.url("fleet.git"), "main", tmp_path / "cache")
    assert fresh.write(bump, author=BOT).commit is not None


def test_missing_branch_is_a_permanent_error(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path
) -> None:
    repo = GitRepo(git_daemon.url("fleet.git"), "production", tmp_path / "cache")
    with pytest.raises(GitError, match="branch 'production' not found") as caught:
        repo.fetch()
    assert caught.value.transient is False


def test_local_path_and_file_url(remotes: Path, tmp_path: Path) -> None:
    for n, url in enumerate([str(remotes / "fleet.git"), f"file://{remotes / 'fleet.git'}"]):
        repo = GitRepo(url, "main", tmp_path / f"cache{n}", shallow=True)
        assert repo.fetch().read("README.md") == b"fleet\n"
    result = GitRepo(str(remotes / "fleet.git"), "main", tmp_path / "cache0").write(
        bump, author=BOT
    )
    assert result.commit is not None
