"""A declined Chart.yaml dependency and its Chart.lock, end to end: nginx serving a Helm
repository, a real Git remote, a fake GitHub checked against GitHub's OpenAPI description.

A pull request moving one dependency is closed unmerged; later the other dependency gets a
new version. The new pull request moves only that one, and its Chart.lock entries and digest
are exactly Helm's for the Chart.yaml and Chart.lock it writes (the declined dependency
stays where it was in both files).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from automator.charts.lock import lock_digest
from testing.fakeforge import FakeForge
from testing.forgespec import OpenApiCheck, load
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.helmrepo import Chart, HelmRepoServer, write_index
from tests.e2e.test_skeleton import automator

TOKEN = "ghp-chart-declined-token"
CHART = """\
apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: web
    version: 1.0.0  # automator: semver:^1
    repository: {url}
  - name: db
    version: 2.0.0  # automator: semver:^2
    repository: {url}
"""
LOCK = """\
dependencies:
- name: web
  repository: {url}
  version: 1.0.0
- name: db
  repository: {url}
  version: 2.0.0
digest: {digest}
generated: "2024-01-02T03:04:05.000000Z"
"""
PATH = "charts/umbrella"


def helm_digest(chart: str, lock: str) -> str:
    """Helm's digest of ``chart``'s dependencies and ``lock``'s (charts.lock.lock_digest, which
    matches Helm's own HashReq test vector)."""
    requested: list[dict[str, Any]] = yaml.safe_load(chart)["dependencies"]
    locked: list[dict[str, Any]] = yaml.safe_load(lock)["dependencies"]
    return lock_digest(requested, locked)


def versions(text: str) -> dict[str, str]:
    return {d["name"]: str(d["version"]) for d in yaml.safe_load(text)["dependencies"]}


def blob(remote: Path, ref: str, path: str) -> str:
    return git("cat-file", "blob", f"{ref}:{path}", cwd=remote)


@pytest.fixture
def setup(
    tmp_path: Path, helm_repo: HelmRepoServer, git_daemon: GitDaemon
) -> Iterator[dict[str, Any]]:
    where = f"declined-{uuid.uuid4().hex[:8]}"
    url = helm_repo.url(where)
    write_index(helm_repo.root / where, [Chart("web", "1.0.0"), Chart("web", "1.1.0")])
    chart = CHART.format(url=url)
    unlocked = LOCK.format(url=url, digest="{digest}")
    lock = unlocked.format(digest=helm_digest(chart, unlocked.format(digest="")))
    remote = make_bare_repo(
        git_daemon.base / f"{where}.git",
        {f"{PATH}/Chart.yaml": chart, f"{PATH}/Chart.lock": lock},
    )
    spec = load("github-pr-slice.json")
    check = OpenApiCheck(spec, "https://api.github.com", strip="/api/v3")
    with FakeForge(
        "github", token=TOKEN, repository="acme/fleet", branches=lambda: heads(remote),
        check=check, examples=spec["components"]["examples"],
    ) as fake:  # fmt: skip
        config = tmp_path / "automator.yaml"
        config.write_text(
            f"""\
sources:
  - name: fleet
    url: {git_daemon.url(f"{where}.git")}
    branch: main
    paths: [charts]
write:
  mode: pull-request
  group: image
  commit:
    author: "automator <automator@example.test>"
  forge:
    kind: github
    api_url: {fake.url}/api/v3
    repository: acme/fleet
    token_env: E2E_GITHUB_TOKEN
registries:
  - host: {helm_repo.host}
    insecure: true
state_dir: {tmp_path / "state"}
"""
        )
        yield {"remote": remote, "config": config, "fake": fake, "repo": helm_repo, "at": where}
        assert fake.problems == [], "traffic GitHub's API description rejects"


def heads(remote: Path) -> list[str]:
    return git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote).split()


def run(config: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("E2E_GITHUB_TOKEN", TOKEN)
    result = automator("run", "--once", "--config", str(config), cwd=tmp)
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_declined_dependency_stays_out_of_the_lock_digest(
    setup: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, fake = setup["remote"], setup["config"], setup["fake"]
    assert isinstance(fake, FakeForge)
    run(config, tmp_path, monkeypatch)
    [first] = fake.open_prs()
    assert versions(blob(remote, first.head, f"{PATH}/Chart.yaml")) == {
        "web": "1.1.0",
        "db": "2.0.0",
    }
    first.state = "closed"  # a person declines web 1.1.0
    assert "declined" in run(config, tmp_path, monkeypatch) and fake.open_prs() == []

    charts = [Chart("web", "1.0.0"), Chart("web", "1.1.0"), Chart("db", "2.0.0")]
    write_index(setup["repo"].root / setup["at"], [*charts, Chart("db", "2.1.0")])
    log = run(config, tmp_path, monkeypatch)
    assert "declined" in log and "pull request created" in log
    [second] = fake.open_prs()
    assert second.head == first.head
    chart = blob(remote, second.head, f"{PATH}/Chart.yaml")
    lock = blob(remote, second.head, f"{PATH}/Chart.lock")
    assert versions(chart) == versions(lock) == {"web": "1.0.0", "db": "2.1.0"}
    assert yaml.safe_load(lock)["digest"] == helm_digest(chart, lock)

    log = run(config, tmp_path, monkeypatch)  # and it stays so
    assert "pull request unchanged" in log and fake.open_prs() == [second]
