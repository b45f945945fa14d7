"""The engine in-process: a real registry, a real Git remote, a spec-checked fake GitHub.

The adapters are built as automator.adapters builds them, except the repository,
which is wrapped (a fake through the seam) to count how often each tip is scanned.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from automator import adapters
from automator.config import parse_config
from automator.engine import Adapters, Engine, SourceSettings
from automator.errors import Cancelled, ForgeError, GitError
from automator.git import GitRepo, NewCommit, Snapshot
from automator.write import Dashboard, DashboardResult, Repository
from testing.fakeforge import FakeForge
from testing.fleet import DEPLOYMENT
from testing.forgespec import OpenApiCheck, load
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.automator.write.test_dashboard import AUTHOR, Issues, Refs

TOKEN = "ghp-engine-test-token"
GROUPS = 5


class CountingSnapshot:
    """A Snapshot that counts the walks (tree scans) made of its commit."""

    def __init__(self, inner: Snapshot, walks: dict[str, int]) -> None:
        self._inner = inner
        self._walks = walks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def walk(self, *args: Any, **kwargs: Any) -> Iterator[tuple[str, bytes]]:
        self._walks[self._inner.commit_id] = self._walks.get(self._inner.commit_id, 0) + 1
        return self._inner.walk(*args, **kwargs)


class CountingRepo:
    """A GitRepo whose snapshots count their walks; everything else is the real repo's."""

    def __init__(self, inner: GitRepo) -> None:
        self.inner = inner
        self.branch = inner.branch
        self.walks: dict[str, int] = {}

    def fetch(self) -> Snapshot:
        return CountingSnapshot(self.inner.fetch(), self.walks)  # type: ignore[return-value]

    def write(self, render: Callable[[Snapshot], NewCommit | None], **kwargs: Any) -> Any:
        def counted(snapshot: Snapshot) -> NewCommit | None:
            return render(CountingSnapshot(snapshot, self.walks))  # type: ignore[arg-type]

        return self.inner.write(counted, **kwargs)

    def remote_branches(self, prefix: str = "") -> dict[str, str]:
        return self.inner.remote_branches(prefix)

    def delete_branch(self, branch: str) -> bool:
        return self.inner.delete_branch(branch)


def branches(remote: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote).split()


@pytest.fixture
def fleet(
    tmp_path: Path,
    registry: Registry,
    pusher: Pusher,
    git_daemon: GitDaemon,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Engine, CountingRepo, FakeForge, Path]]:
    """Five images, each 1.4.2 in a file of its own, 1.4.3 in the registry; group by image."""
    files = {"README.md": "# fleet\n", "apps/plain.yaml": "kind: ConfigMap\n"}
    for n in range(GROUPS):
        repo = f"acme/svc{n}-{uuid.uuid4().hex[:6]}"
        pusher.tag(repo, ["1.4.2", "1.4.3"])
        files[f"apps/svc{n}.yaml"] = DEPLOYMENT.format(image=f"{registry.host}/{repo}")
    remote = make_bare_repo(git_daemon.base / "fleet.git", files)
    spec = load("github-pr-slice.json")
    check = OpenApiCheck(spec, "https://api.github.com", strip="/api/v3")
    monkeypatch.setenv("ENGINE_GITHUB_TOKEN", TOKEN)
    with FakeForge(
        "github", token=TOKEN, repository="acme/fleet", branches=lambda: branches(remote),
        check=check, examples=spec["components"]["examples"],
    ) as fake:  # fmt: skip
        config = parse_config(
            {
                "sources": [
                    {"name": "fleet", "url": git_daemon.url("fleet.git"), "paths": ["apps"]}
                ],
                "write": {
                    "mode": "pull-request",
                    "group": "image",
                    "forge": {
                        "kind": "github",
                        "api_url": f"{fake.url}/api/v3",
                        "repository": "acme/fleet",
                        "token_env": "ENGINE_GITHUB_TOKEN",
                    },
                },
                "registries": [{"host": registry.host, "insecure": True}],
            }
        )
        state = tmp_path / "state"
        counting = CountingRepo(adapters.open_repo(config.sources[0], state))
        built = adapters.engine(config, state).adapters

        def repo(source: SourceSettings) -> Repository:
            return counting

        engine = Engine(
            Adapters(
                sources=built.sources,
                repo=repo,
                catalog=built.catalog,
                write=built.write,
                forge=built.forge,
            )
        )
        yield engine, counting, fake, remote
        assert fake.problems == [], "traffic GitHub's API description rejects"


def test_five_groups_scan_and_parse_the_base_tip_once(
    fleet: tuple[Engine, CountingRepo, FakeForge, Path],
) -> None:
    engine, repo, fake, remote = fleet
    tip = git("rev-parse", "main", cwd=remote).strip()

    outcome = engine.reconcile("fleet")

    assert [r.outcome for r in outcome.pull_requests] == ["created"] * GROUPS
    assert len(fake.open_prs()) == GROUPS
    assert len([b for b in branches(remote) if b.startswith("automator/")]) == GROUPS
    # each group's render saw the same tip: one walk, and each annotated file parsed once
    assert repo.walks == {tip: 1}
    assert outcome.files_parsed == GROUPS


def test_a_second_reconcile_changes_nothing_and_scans_once_more(
    fleet: tuple[Engine, CountingRepo, FakeForge, Path],
) -> None:
    engine, repo, _, remote = fleet
    engine.reconcile("fleet")
    heads = {b: git("rev-parse", b, cwd=remote).strip() for b in branches(remote)}

    again = engine.reconcile("fleet")

    assert {r.outcome for r in again.pull_requests} == {"unchanged"}
    assert {b: git("rev-parse", b, cwd=remote).strip() for b in branches(remote)} == heads
    assert sum(repo.walks.values()) == 2  # one per reconcile, whatever the number of groups
    assert again.files_parsed == GROUPS


def test_dry_run_splices_the_plan_and_writes_nothing(
    fleet: tuple[Engine, CountingRepo, FakeForge, Path],
) -> None:
    engine, _, fake, remote = fleet
    before = branches(remote)

    outcome = engine.reconcile("fleet", dry_run=True)

    assert len(outcome.plan.changes) == GROUPS
    assert sorted(outcome.plan.files) == [f"apps/svc{n}.yaml" for n in range(GROUPS)]
    assert all(b"1.4.3 # pinned by automator" in data for data in outcome.plan.files.values())
    assert branches(remote) == before and fake.prs == []


@pytest.fixture
def push_engine(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> tuple[Engine, Path]:
    """Source ``fleet`` at api 1.4.2 (1.4.3 in the registry), and ``gone``, a missing remote."""
    repo = f"acme/api-{uuid.uuid4().hex[:6]}"
    pusher.tag(repo, ["1.4.2", "1.4.3"])
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(image=f"{registry.host}/{repo}")},
    )
    config = parse_config(
        {
            "sources": [
                {"name": "gone", "url": git_daemon.url("missing.git")},
                {"name": "fleet", "url": git_daemon.url("fleet.git"), "paths": ["apps"]},
            ],
            "registries": [{"host": registry.host, "insecure": True}],
        }
    )
    return adapters.engine(config, tmp_path / "state"), remote


def test_push_mode_commits_once_and_a_broken_source_stops_no_other(
    push_engine: tuple[Engine, Path],
) -> None:
    engine, remote = push_engine
    before = git("rev-parse", "main", cwd=remote).strip()

    outcomes, failures = engine.reconcile_all()

    assert [name for name, _ in failures] == ["gone"]
    assert failures[0][1].transient
    [outcome] = outcomes
    assert outcome.commit == git("rev-parse", "main", cwd=remote).strip() != before
    assert git("rev-parse", "main~1", cwd=remote).strip() == before
    assert [c.new.rsplit(":", 1)[1] for c in outcome.plan.changes] == ["1.4.3"]
    assert outcome.files_parsed == 1

    again = engine.reconcile("fleet")
    assert again.commit is None and again.plan.empty


def test_a_stop_before_the_write_leaves_the_remote_alone(
    push_engine: tuple[Engine, Path],
) -> None:
    engine, remote = push_engine
    before = git("rev-parse", "main", cwd=remote).strip()
    stop = threading.Event()
    stop.set()

    with pytest.raises(Cancelled, match=r"^fleet: stopping; the write was not started$"):
        engine.reconcile("fleet", cancel=stop)

    assert git("rev-parse", "main", cwd=remote).strip() == before


class Failing(Dashboard):
    """A dashboard whose forge fails while the reconcile's failure is reported."""

    def edit_only(self, body: str) -> DashboardResult:
        raise ForgeError("fleet: issues refused (403); give the token issue rights")


def test_a_failed_reconcile_shows_the_error_above_the_last_plan_and_is_cleared(
    fleet: tuple[Engine, CountingRepo, FakeForge, Path],
) -> None:
    """In one process the last plan stays under the error; the original error propagates
    even when the dashboard fails too."""
    built, _, _, remote = fleet
    issues, refs, kind = Issues(), Refs(), [Dashboard]
    sources = tuple(replace(s, dashboard="automator dashboard: fleet") for s in built.sources)

    def board(source: SourceSettings) -> Dashboard:
        return kind[0]("fleet", source.dashboard or "", issues, refs, AUTHOR)

    engine = Engine(replace(built.adapters, sources=sources, dashboard=board))
    engine.reconcile("fleet")
    [issue] = issues.issues
    assert "### Sites" in issue.body and "Errors" not in issue.body
    away = remote.with_name("fleet-away.git")
    remote.rename(away)
    with pytest.raises(GitError):
        engine.reconcile("fleet")
    [issue] = issues.issues
    assert "- the last reconcile failed: " in issue.body and "### Sites" in issue.body
    kind[0] = Failing
    with pytest.raises(GitError):  # not the ForgeError: that is a warning
        engine.reconcile("fleet")
    kind[0] = Dashboard
    away.rename(remote)
    engine.reconcile("fleet")
    [issue] = issues.issues
    assert "Errors" not in issue.body and issues.calls.count("edit") == 2
    assert issues.calls.count("create") == 1
