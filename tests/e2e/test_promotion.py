"""Promotion between environments, end to end: real registry, real git daemon, a fake
GitHub checked against GitHub's OpenAPI description. Time passes by commit dates in
the past, never by sleeping."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from testing.fakeforge import FakeForge
from testing.forgespec import OpenApiCheck, load
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e import test_pull_request as pulls
from tests.e2e.test_skeleton import automator, write_config

TOKEN = "ghp-promotion-secret-token"
FORGE = """\
  group: workload
  forge:
    kind: github
    api_url: {url}/api/v3
    repository: acme/fleet
    token_env: E2E_GITHUB_TOKEN
"""
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
{annotations}spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.4.2
"""
STAGING = "apps/staging/api.yaml"
PROMOTE = f"promote-from={STAGING};after=24h"


def soak_commit(
    work: Path, hours_ago: int, monkeypatch: pytest.MonkeyPatch, *, amend: bool = False
) -> str:
    """Staging gets 1.5.0 in a commit dated ``hours_ago``; pushed; its id."""
    when = (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setenv("GIT_COMMITTER_DATE", when)
    monkeypatch.setenv("GIT_AUTHOR_DATE", when)
    if amend:
        git("commit", "-q", "--amend", "--no-edit", "--reset-author", cwd=work)
        git("push", "-q", "--force", "origin", "main", cwd=work)
    else:
        text = (work / STAGING).read_text()
        (work / STAGING).write_text(text.replace(":1.4.2", ":1.5.0"))
        git("commit", "-qam", "staging takes 1.5.0", cwd=work)
        git("push", "-q", "origin", "main", cwd=work)
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    monkeypatch.delenv("GIT_AUTHOR_DATE")
    return git("rev-parse", "HEAD", cwd=work).strip()


def test_production_takes_what_staging_ran_for_a_day(
    tmp_path: Path,
    registry: Registry,
    pusher: Pusher,
    git_daemon: GitDaemon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = f"{registry.host}/acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(image.split("/", 1)[1], ["1.4.2", "1.5.0", "1.5.1"])
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {
            STAGING: WORKLOAD.format(annotations="    team: shop\n", image=image),
            "apps/prod/api.yaml": WORKLOAD.format(
                annotations=f'    automator.dev/policy.app: "semver:^1;{PROMOTE}"\n', image=image
            ),
            "apps/prod-eu/api.yaml": WORKLOAD.format(
                annotations=f'    automator.dev/policy.app: "semver:~1.4;{PROMOTE}"\n',
                image=image,
            ),
        },
    )
    spec = load("github-pr-slice.json")
    check = OpenApiCheck(spec, "https://api.github.com", strip="/api/v3")
    with FakeForge(
        "github", token=TOKEN, branches=lambda: pulls.branches(remote), check=check,
        examples=spec["components"]["examples"],
    ) as fake:  # fmt: skip
        config = write_config(
            tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host,
            mode="pull-request",
        )  # fmt: skip
        text = config.read_text().replace("  commit:\n", FORGE.format(url=fake.url) + "  commit:\n")
        config.write_text(text)
        monkeypatch.setenv("E2E_GITHUB_TOKEN", TOKEN)

        def once() -> str:
            result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            return result.stderr

        work = tmp_path / "human"
        git("clone", "-q", str(remote), str(work))
        commit = soak_commit(work, 2, monkeypatch)  # staging got 1.5.0 two hours ago
        log = once()
        assert fake.prs == [], "production waits for the soak"
        assert f"1.5.0 in soak: {STAGING}:12 got 1.5.0 in commit {commit[:12]} on" in log

        checked = automator("check", "--config", str(config), cwd=tmp_path)
        [line] = [ln for ln in checked.stdout.splitlines() if "apps/prod/api.yaml" in ln]
        assert f"PROMOTION {STAGING}:12 got 1.5.0 in commit {commit[:12]}" in line
        assert "soak ends" in line

        commit = soak_commit(work, 25, monkeypatch, amend=True)  # it has run there for a day
        since = (datetime.now(UTC) - timedelta(hours=25)).strftime("%Y-%m-%d")
        once()
        [pr] = fake.open_prs()
        assert pr.title == f"Update {image} to 1.5.0", "exactly the staging version, not 1.5.1"
        assert "apps/prod/api.yaml" in pr.body and "apps/prod-eu" not in pr.body
        assert f"; promoted: {STAGING}:12 got 1.5.0 in commit {commit[:12]} on {since}" in pr.body
        assert "soak ended" in pr.body

        plan = automator("plan", "--output", "json", "--config", str(config), cwd=tmp_path)
        sites = {s["file"]: s for s in json.loads(plan.stdout)["sources"][0]["sites"]}
        assert sites["apps/prod/api.yaml"]["new"]["tag"] == "1.5.0"
        eu = sites["apps/prod-eu/api.yaml"]
        assert eu["status"] == "skipped" and "promoted:" in eu["reason"]  # its own range: ~1.4

        explain = automator(
            "explain", f"{image}:1.4.2", "--policy", "semver:^1", "--config", str(config),
            cwd=tmp_path,
        )  # fmt: skip
        assert explain.returncode == 0, explain.stderr
        assert (
            f"promotion: fleet apps/prod/api.yaml:12: {STAGING}:12 got 1.5.0 in commit"
            f" {commit[:12]} on {since}"
        ) in explain.stdout
        assert fake.problems == []
