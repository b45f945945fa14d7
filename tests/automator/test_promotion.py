"""Promotion chains read from a real Git history built in tmp_path, with ``now`` given."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest

from automator.git import Snapshot
from automator.manifests import scan_files
from automator.model import Site
from automator.promotion import promotions
from testing.gitserver import git

WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    automator.dev/policy.app: "{policy}"
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/api:{tag}
"""
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def commit(repo: Path, files: dict[str, str], when: datetime) -> str:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    os.environ["GIT_COMMITTER_DATE"] = os.environ["GIT_AUTHOR_DATE"] = stamp
    try:
        git("add", "-A", cwd=repo)
        git("commit", "-qm", f"at {stamp}", cwd=repo)
    finally:
        del os.environ["GIT_COMMITTER_DATE"], os.environ["GIT_AUTHOR_DATE"]
    return git("rev-parse", "HEAD", cwd=repo).strip()


def plan_sites(repo: Path, now: datetime) -> dict[str, Site]:
    pygit = pygit2.Repository(str(repo))
    snapshot = Snapshot(pygit, str(pygit.head.target))
    files = [(p, snapshot.read(p)) for p in ("staging/api.yaml", "prod/api.yaml")]
    sites = promotions(snapshot, scan_files(files).sites, now=now)
    return {site.file: site for site in sites}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git("init", "-q", "-b", "main", str(path), cwd=tmp_path)
    return path


@pytest.mark.parametrize(
    "source", ["staging/api.yaml", "Deployment/staging", "staging/Deployment/staging"]
)
def test_the_soak_starts_when_staging_got_its_tag(repo: Path, source: str) -> None:
    prod = WORKLOAD.format(
        name="prod", policy=f"semver:^1;promote-from={source};after=24h", tag="1.4.2"
    )
    staging = WORKLOAD.format(name="staging", policy="semver:^1", tag="{tag}")
    commit(repo, {"staging/api.yaml": staging.format(tag="1.4.2"), "prod/api.yaml": prod}, T0)
    got = commit(repo, {"staging/api.yaml": staging.format(tag="1.5.0")}, T0 + timedelta(hours=1))
    commit(repo, {"README": "unrelated\n"}, T0 + timedelta(hours=2))

    early = plan_sites(repo, T0 + timedelta(hours=24))["prod/api.yaml"].promotion
    assert early is not None and not early.ready and not early.problem
    assert (early.tag, early.commit, early.since) == ("1.5.0", got, "2026-11-01T13:00:00Z")
    assert early.chain() == (
        f"staging/api.yaml:12 got 1.5.0 in commit {got[:12]} on 2026-11-01T13:00:00Z;"
        " soak ends 2026-11-02T13:00:00Z"
    )
    late = plan_sites(repo, T0 + timedelta(hours=25))["prod/api.yaml"].promotion
    assert late is not None and late.ready and "soak ended" in late.chain()


def test_a_source_that_names_no_site_is_a_problem(repo: Path) -> None:
    prod = WORKLOAD.format(name="prod", policy="semver:^1;promote-from=Deployment/nope", tag="1")
    staging = WORKLOAD.format(name="staging", policy="semver:^1", tag="1")
    commit(repo, {"staging/api.yaml": staging, "prod/api.yaml": prod}, T0)
    promotion = plan_sites(repo, T0)["prod/api.yaml"].promotion
    assert promotion is not None
    assert promotion.problem == "no Site of ghcr.io/acme/api at Deployment/nope; name exactly one"
