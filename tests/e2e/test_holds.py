"""Explicit holds, end to end against a real registry and a real git daemon: an
annotation, a marker and a rule each hold a Site; check, plan and run show it and
leave it alone; lifting the hold resumes updates."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import ROOT, automator, write_config

SCHEMA = json.loads((ROOT / "docs" / "plan.schema.json").read_text())
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
{annotations}spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.0.0{marker}
"""
POLICY = '    automator.dev/policy.app: "semver:^1"\n'
RULES = """\
rules:
  - name: freeze
    paths: [apps/frozen]
    hold: "change freeze until the 10th"
  - name: everything
    paths: ["apps/**"]
    policy: semver:^1
"""


def fleet(tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon) -> Path:
    image = f"{registry.host}/acme/held-{uuid.uuid4().hex[:8]}"
    pusher.tag(image.split("/", 1)[1], ["1.0.0", "1.1.0"])
    held = '    automator.dev/hold.app: "1.1.0 breaks checkout"\n'
    files = {
        "apps/annotated.yaml": dict(annotations=POLICY + held, marker=""),
        "apps/marked.yaml": dict(annotations=POLICY, marker="  # automator: hold waiting for QA"),
        "apps/frozen/ruled.yaml": dict(annotations="    team: shop\n", marker=""),
        "apps/free.yaml": dict(annotations=POLICY, marker=""),
    }
    make_bare_repo(
        git_daemon.base / "fleet.git",
        {
            path: WORKLOAD.format(name=Path(path).stem, image=image, **parts)
            for path, parts in files.items()
        },
    )
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)
    with config.open("a") as out:
        out.write(RULES)
    return config


def test_holds_are_shown_and_kept_until_lifted(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    config = fleet(tmp_path, registry, pusher, git_daemon)

    check = automator("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    lines = {line.split(":")[1]: line for line in check.stdout.splitlines()}
    assert "HELD by automator.dev/hold.app: 1.1.0 breaks checkout" in lines[" apps/annotated.yaml"]
    assert "HELD by marker: waiting for QA" in lines[" apps/marked.yaml"]
    assert "HELD by rule freeze: change freeze until the 10th" in lines[" apps/frozen/ruled.yaml"]
    assert "(rule everything)" in lines[" apps/frozen/ruled.yaml"]
    assert "HELD" not in lines[" apps/free.yaml"]

    plan = automator("plan", "--output", "json", "--config", str(config), cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    document = json.loads(plan.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    by_file = {site["file"]: site for site in document["sources"][0]["sites"]}
    assert by_file["apps/free.yaml"]["status"] == "changed"
    assert by_file["apps/free.yaml"]["hold"] is None
    assert by_file["apps/annotated.yaml"]["hold"] == {
        "kind": "hold",
        "reason": "1.1.0 breaks checkout",
        "by": "automator.dev/hold.app",
    }
    assert by_file["apps/marked.yaml"]["hold"]["by"] == "marker"
    assert by_file["apps/frozen/ruled.yaml"]["hold"]["by"] == "rule freeze"
    for held in ("apps/annotated.yaml", "apps/marked.yaml", "apps/frozen/ruled.yaml"):
        assert by_file[held]["status"] == "skipped"
        assert "held at 1.0.0 by" in by_file[held]["reason"]

    image = by_file["apps/free.yaml"]["image"]
    explain = automator(
        "explain", f"{image}:1.0.0", "--policy", "semver:^1", "--config", str(config), cwd=tmp_path
    )
    assert explain.returncode == 0, explain.stderr
    held = [line for line in explain.stdout.splitlines() if line.startswith("held: ")]
    assert held == [
        f"held: fleet apps/annotated.yaml:13 at {image}:1.0.0 by automator.dev/hold.app:"
        " 1.1.0 breaks checkout",
        f"held: fleet apps/frozen/ruled.yaml:12 at {image}:1.0.0 by rule freeze:"
        " change freeze until the 10th",
        f"held: fleet apps/marked.yaml:12 at {image}:1.0.0 by marker: waiting for QA",
    ]

    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    remote = git_daemon.base / "fleet.git"
    changed = git("diff", "--name-only", "main~1", "main", cwd=remote).split()
    assert changed == ["apps/free.yaml"]

    # a person lifts the annotation's hold: the next run moves that Site
    work = tmp_path / "human"
    git("clone", "-q", str(remote), str(work))
    text = (work / "apps/annotated.yaml").read_text()
    (work / "apps/annotated.yaml").write_text(text.replace("automator.dev/hold.app", "team"))
    git("commit", "-qam", "lift the hold", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    changed = git("diff", "--name-only", "main~1", "main", cwd=remote).split()
    assert changed == ["apps/annotated.yaml"]
