"""A closed pull request is a decision, end to end: real registry, real Git remote, a
fake GitHub checked against GitHub's OpenAPI description (see test_pull_request)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.fakeforge import FakeForge
from testing.gitserver import git
from testing.registry import Pusher
from tests.e2e import test_pull_request as pulls

setup = pulls.setup
run = pulls.run


def replica(config: object, tmp: Path, n: int) -> Path:
    """The same config with a state directory of its own: a fresh replica."""
    assert isinstance(config, Path)
    own = tmp / f"replica{n}.yaml"
    own.write_text(config.read_text().replace("/state", f"/state-replica{n}"))
    return own


def automator_branches(remote: Path) -> list[str]:
    return [b for b in pulls.branches(remote) if b.startswith("automator/")]


def test_closed_pr_is_not_proposed_again_and_a_newer_tag_names_it(
    setup: dict[str, object], tmp_path: Path, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, image, fake = (setup[k] for k in ("remote", "config", "image", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    run(config, tmp_path, monkeypatch)
    [first] = fake.open_prs()
    first.state = "closed"  # a person closes it without merging

    for n in range(2):  # this replica, then a fresh one that never saw the PR opened
        log = run(config if n == 0 else replica(config, tmp_path, n), tmp_path, monkeypatch)
        assert fake.open_prs() == [] and len(fake.prs) == 1
        assert f"{image}:1.4.3 declined: pull request #1 ({pulls_url(fake, 1)})" in log
        assert automator_branches(remote) == [first.head], "the branch records the decision"

    pusher.tag(str(setup["repo"]), ["1.4.4"])
    log = run(replica(config, tmp_path, 2), tmp_path, monkeypatch)
    assert "pull request created" in log
    [second] = fake.open_prs()
    assert second.number == 2 and second.head == first.head
    assert second.title == f"Update {image} to 1.4.4"
    assert "### Declined before" in second.body
    assert f"{pulls_url(fake, 1)} (#1), closed unmerged: `{image}:1.4.3`" in second.body

    # once more: nothing new, nothing reopened, the new PR untouched
    log = run(config, tmp_path, monkeypatch)
    assert "pull request unchanged" in log and len(fake.prs) == 2


def test_reopening_the_pr_undoes_the_decision(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, fake = setup["config"], setup["fake"]
    assert isinstance(fake, FakeForge)
    run(config, tmp_path, monkeypatch)
    [pr] = fake.open_prs()
    pr.state = "closed"
    run(config, tmp_path, monkeypatch)
    assert fake.open_prs() == []
    pr.state = "open"  # a person reopens it
    log = run(config, tmp_path, monkeypatch)
    assert "declined" not in log and "pull request unchanged" in log
    assert fake.open_prs() == [pr] and len(fake.prs) == 1
    pr.state = "closed"  # and closes it again: declined again
    log = run(config, tmp_path, monkeypatch)
    assert "declined" in log and fake.open_prs() == []


def test_deleting_the_branch_undoes_the_decision(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, image, fake = (setup[k] for k in ("remote", "config", "image", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    run(config, tmp_path, monkeypatch)
    [first] = fake.open_prs()
    first.state = "closed"
    run(config, tmp_path, monkeypatch)
    assert fake.open_prs() == []

    git("update-ref", "-d", f"refs/heads/{first.head}", cwd=remote)  # a person deletes it
    log = run(config, tmp_path, monkeypatch)
    assert "pull request created" in log
    [second] = fake.open_prs()
    assert second.title == f"Update {image} to 1.4.3" and "Declined before" not in second.body
    assert "<!-- automator:undone -->" in first.body and first.state == "closed"
    # the undone decision stays undone, on this replica and on a fresh one
    for cfg in (config, replica(config, tmp_path, 1)):
        log = run(cfg, tmp_path, monkeypatch)
        assert "declined" not in log and fake.open_prs() == [second]


def test_a_pr_automator_closed_itself_declines_nothing(
    setup: dict[str, object], tmp_path: Path, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, image, fake = (setup[k] for k in ("remote", "config", "image", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    run(config, tmp_path, monkeypatch)
    [first] = fake.open_prs()
    # the update lands on main by hand: automator closes its PR itself, marked so
    work = tmp_path / "human"
    git("clone", "-q", str(remote), str(work))
    git("merge", "-q", "--ff-only", f"origin/{first.head}", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    run(config, tmp_path, monkeypatch)
    assert first.state == "closed" and "<!-- automator:closed -->" in first.body
    pusher.tag(str(setup["repo"]), ["1.4.4"])
    log = run(config, tmp_path, monkeypatch)
    assert "declined" not in log
    [second] = fake.open_prs()
    assert second.title == f"Update {image} to 1.4.4" and "Declined before" not in second.body


def pulls_url(fake: FakeForge, number: int) -> str:
    return f"https://github.com/{fake.repository}/pull/{number}"
