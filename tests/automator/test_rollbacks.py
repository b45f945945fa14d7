"""Rollback holds read from a real Git history built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from automator.git import Snapshot
from automator.manifests import scan_files
from automator.rollbacks import rollback_holds
from testing.gitserver import git

BOT = "automator <automator@example.test>"
ALICE = "Alice <alice@example.test>"
FILE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy.app: "semver:~1.4"
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/api:{tag}
        - name: side
          image: ghcr.io/acme/api:1.0.0  # automator: semver:~1.0
"""


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        git("init", "-q", "-b", "main", str(path), cwd=path.parent)

    def commit(self, tag: str, author: str, trailer: bool = False) -> str:
        (self.path / "api.yaml").write_text(FILE.format(tag=tag))
        git("add", "api.yaml", cwd=self.path)
        message = f"api {tag}"
        if trailer:
            message += f"\n\nAutomator-Update: api.yaml ghcr.io/acme/api:{tag}"
        git("commit", "-qm", message, "--author", author, "--allow-empty", cwd=self.path)
        return git("rev-parse", "HEAD", cwd=self.path).strip()

    def holds(self) -> list[str | None]:
        repo = pygit2.Repository(str(self.path))
        snapshot = Snapshot(repo, str(repo.head.target))
        sites = scan_files([("api.yaml", snapshot.read("api.yaml"))]).sites
        held = rollback_holds(snapshot, sites, author_email="automator@example.test")
        return [site.hold.reason if site.hold else None for site in held]


@pytest.fixture
def history(tmp_path: Path) -> History:
    (tmp_path / "repo").mkdir()
    return History(tmp_path / "repo")


def test_a_persons_move_back_from_automators_version_holds(history: History) -> None:
    history.commit("1.4.2", ALICE)
    history.commit("1.4.3", BOT, trailer=True)
    cause = history.commit("1.4.2", ALICE)
    reason = f"rolled back from 1.4.3 to 1.4.2 by Alice in commit {cause[:12]}"
    assert history.holds() == [f"{reason}; move it forward to resume updates", None]
    (history.path / "README").write_text("unrelated\n")  # later commits keep the hold
    history.commit("1.4.2", ALICE)
    assert history.holds()[0] is not None


def test_moving_forward_lifts_it(history: History) -> None:
    history.commit("1.4.2", ALICE)
    history.commit("1.4.5", BOT, trailer=True)
    history.commit("1.4.2", ALICE)
    history.commit("1.4.3", ALICE)  # forward, though still below automator's 1.4.5
    assert history.holds() == [None, None]


@pytest.mark.parametrize("trailer", [True, False])
def test_only_automators_commits_count_as_its_own(history: History, trailer: bool) -> None:
    history.commit("1.4.2", ALICE)
    history.commit("1.4.3", BOT, trailer=trailer)
    history.commit("1.4.1", BOT)  # automator's identity, no trailer: a person's hand
    held = history.holds()[0]
    assert (held is not None) == trailer


def test_no_hold_without_automator_or_for_its_own_moves(history: History) -> None:
    history.commit("1.4.3", ALICE)
    history.commit("1.4.2", ALICE)
    assert history.holds() == [None, None]  # automator never wrote it
    history.commit("1.4.1", BOT, trailer=True)  # automator moving back (allow-downgrade)
    assert history.holds() == [None, None]
