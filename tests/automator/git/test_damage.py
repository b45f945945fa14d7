"""The bare clone is a cache: whatever the damage, it is set aside and cloned again once."""

from __future__ import annotations

import logging
from pathlib import Path

import pygit2
import pytest

from automator.errors import GitError
from automator.git import GitRepo, Snapshot
from testing.gitserver import GitDaemon, git
from tests.automator.git.conftest import log
from tests.automator.git.test_write import API, BOT, bump


def _rev(clone: Path, spec: str) -> str:
    return git("rev-parse", spec, cwd=clone).strip()


def _loose(clone: Path, oid: str) -> Path:
    path = clone / "objects" / oid[:2] / oid[2:]
    path.parent.mkdir(exist_ok=True)
    return path


def truncate_pack(clone: Path) -> None:
    pack = next((clone / "objects" / "pack").glob("*.pack"))
    data = pack.read_bytes()
    pack.chmod(0o644)
    pack.write_bytes(data[: len(data) // 2])


def garbage_loose_objects(clone: Path) -> None:
    for spec in ("refs/remotes/origin/main^{tree}", f"refs/remotes/origin/main:{API}"):
        _loose(clone, _rev(clone, spec)).write_bytes(b"garbage, not zlib")


def missing_blob(clone: Path) -> None:
    """Repack everything but one blob of the tip."""
    blob = _rev(clone, f"refs/remotes/origin/main:{API}")
    every = git("cat-file", "--batch-all-objects", "--batch-check=%(objectname)", cwd=clone)
    keep = "".join(f"{oid}\n" for oid in every.split() if oid != blob)
    old = list((clone / "objects" / "pack").glob("pack-*"))
    git("pack-objects", "-q", str(clone / "new"), cwd=clone, input=keep.encode())
    for path in old:
        path.unlink()
    for path in clone.glob("new-*"):
        path.rename(clone / "objects" / "pack" / path.name.replace("new-", "pack-"))


def garbage_config(clone: Path) -> None:
    (clone / "config").write_bytes(b"[core\x00 garbage = = =\n[[[")


def garbage_packed_refs(clone: Path) -> None:
    (clone / "packed-refs").write_bytes(b"garbage\nnot a ref at all\n")
    for ref in (clone / "refs" / "remotes" / "origin").glob("*"):
        ref.unlink()


DAMAGE = {
    "truncated pack": truncate_pack,
    "garbage loose objects": garbage_loose_objects,
    "missing blob": missing_blob,
    "garbage config": garbage_config,
    "garbage packed-refs": garbage_packed_refs,
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("operation", ["fetch", "write"])
def test_a_damaged_clone_is_set_aside_and_cloned_again_once(
    git_daemon: GitDaemon,
    remotes: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: str,
    operation: str,
) -> None:
    url = git_daemon.url("fleet.git")
    clone = GitRepo(url, "main", tmp_path / "cache").path
    GitRepo(url, "main", tmp_path / "cache").fetch()
    DAMAGE[damage](clone)
    repo = GitRepo(url, "main", tmp_path / "cache")  # the next run
    with caplog.at_level(logging.WARNING, logger="automator.git"):
        if operation == "fetch":
            snapshot = repo.fetch()
            assert len(list(snapshot.walk(["."]))) == 3
            assert snapshot.read(API).startswith(b"image: ghcr.io/acme/api:1.4.2")
        else:
            assert repo.write(bump, author=BOT).commit is not None
            assert log(remotes / "fleet.git")[0] == "Update ghcr.io/acme/api to 1.4.3"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"the clone in {clone} is damaged" in warnings[0]
    assert "check the URL" not in warnings[0]
    assert clone.with_name(clone.name + ".damaged").is_dir()
    git("fsck", "--strict", cwd=clone)
    # and the run after that finds a healthy clone: no warning, nothing set aside again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="automator.git"):
        GitRepo(url, "main", tmp_path / "cache").fetch()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_damage_a_reader_meets_after_the_fetch_is_a_git_error_and_recovered_next_run(
    git_daemon: GitDaemon, remotes: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = git_daemon.url("fleet.git")
    commit = GitRepo(url, "main", tmp_path / "cache").fetch().commit_id
    clone = GitRepo(url, "main", tmp_path / "cache").path
    missing_blob(clone)  # after the fetch read the tip back, before the scan reads it
    reader = Snapshot(pygit2.Repository(str(clone)), commit)
    with pytest.raises(GitError, match=f"the clone in {clone} is damaged") as caught:
        list(reader.walk(["."]))
    assert caught.value.transient is True and "\n" not in str(caught.value)
    with caplog.at_level(logging.WARNING, logger="automator.git"):
        fresh = GitRepo(url, "main", tmp_path / "cache").fetch()
    assert fresh.read(API).startswith(b"image: ghcr.io/acme/api:1.4.2")
    assert ["a reader met a damaged object" in r.getMessage() for r in caplog.records] == [True]
