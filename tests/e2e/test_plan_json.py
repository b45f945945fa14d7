"""``plan --output json`` against a real registry: schema-valid, every Site, exit codes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema

from testing.gitserver import GitDaemon, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import ROOT, automator, write_config

SCHEMA = json.loads((ROOT / "docs" / "plan.schema.json").read_text())

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
          image: {image}
"""


def validate(document: Any) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def plan_fleet(tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon) -> Path:
    """Six workloads on five real repositories and one that does not exist."""
    run = uuid.uuid4().hex[:8]
    files: dict[str, str] = {}
    for index, (policy, tag) in enumerate(
        [("semver:~1.0", "1.0.0"), ("semver:*", "1.0.1"), ("semver:^1", "1.0.1")] * 2
    ):
        repo = f"acme/svc{index}-{run}"
        if index != 4:  # svc4 is never pushed: a 404 among the others
            pusher.tag(repo, ["1.0.0", "1.0.1", "2.0.0"])
        image = f"{registry.host}/{repo}:{tag}"
        files[f"apps/svc{index}.yaml"] = WORKLOAD.format(
            name=f"svc{index}", policy=policy, image=image
        )
    make_bare_repo(git_daemon.base / "fleet.git", files)
    return write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)


def test_one_missing_repository_among_many(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    config = plan_fleet(tmp_path, registry, pusher, git_daemon)
    result = automator("plan", "--output", "json", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("automator: plan: 6 sites in 1 sources: 3 to change,")
    document = json.loads(result.stdout)
    validate(document)
    assert document["version"] == 1
    sites = {site["file"]: site for site in document["sources"][0]["sites"]}
    assert sorted(sites) == [f"apps/svc{i}.yaml" for i in range(6)]
    assert {f: s["status"] for f, s in sites.items()} == {
        "apps/svc0.yaml": "changed",
        "apps/svc1.yaml": "changed",
        "apps/svc2.yaml": "current",
        "apps/svc3.yaml": "changed",
        "apps/svc4.yaml": "failed",
        "apps/svc5.yaml": "current",
    }
    first = sites["apps/svc0.yaml"]
    assert (first["current"], first["new"]) == (
        {"tag": "1.0.0", "digest": None},
        {"tag": "1.0.1", "digest": None},
    )
    assert (first["update"], first["origin"], first["line"]) == ("patch", "annotation", 12)
    assert first["governed_by"] == "automator.dev/policy.app"
    assert sites["apps/svc1.yaml"]["update"] == "major"
    assert "svc4" in sites["apps/svc4.yaml"]["reason"]
    assert document["summary"] == {
        "sources": 1, "sources_failed": 0, "sites": 6,
        "changed": 3, "current": 2, "skipped": 0, "failed": 1,
    }  # fmt: skip


def test_text_plan_never_calls_a_failure_up_to_date(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    run = uuid.uuid4().hex[:8]
    image = f"{registry.host}/acme/gone-{run}:1.0.0"
    files = {"apps/gone.yaml": WORKLOAD.format(name="gone", policy="semver:^1", image=image)}
    make_bare_repo(git_daemon.base / "fleet.git", files)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)
    result = automator("plan", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "up to date" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "automator: plan: 1 sites in 1 sources: 0 to change, 0 current, 0 skipped, 1 failed"
    )
    assert result.stdout == ""


def test_a_plan_with_nothing_to_do_exits_0(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    repo = f"acme/calm-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.0.0"])
    image = f"{registry.host}/{repo}:1.0.0"
    files = {"apps/calm.yaml": WORKLOAD.format(name="calm", policy="semver:^1", image=image)}
    make_bare_repo(git_daemon.base / "fleet.git", files)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)
    result = automator("plan", "--output", "json", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    validate(json.loads(result.stdout))
