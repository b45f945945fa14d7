"""``automator check`` is strict: each mistake is one line with file:line and what to do."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from testing.gitserver import GitDaemon, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, write_config

HEAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
{annotations}spec:
  template:
    metadata:
{template}    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.4.2{marker}
"""

MISTAKES = {
    "unparseable policy": (
        dict(annotations='    automator.dev/policy.api: "semver>=1.0"\n'),
        "apps/w.yaml:14: policy 'semver>=1.0': column 1: expected",
        "write a policy such as semver:~1.4 (docs/manifests.md lists them)",
    ),
    "annotation on the pod template": (
        dict(template='      annotations:\n        automator.dev/policy.api: "semver:~1.4"\n'),
        "apps/w.yaml:11: automator.dev/policy.api is on the pod template of Deployment/api",
        "move it to Deployment/api's own metadata.annotations",
    ),
    "unknown container": (
        dict(annotations='    automator.dev/policy.apii: "semver:~1.4"\n'),
        "apps/w.yaml:6: automator.dev/policy.apii names no container of this workload",
        "name one of its containers (api)",
    ),
    "marker on no image": (
        dict(annotations='    version: "1.4.2" # automator: semver:~1.4 (tag)\n'),
        "apps/w.yaml:6: ",
        "give the policy a scalar that holds an image",
    ),
}


def fleet(tmp_path: Path, git_daemon: GitDaemon, registry: str, **parts: str) -> Path:
    text = HEAD.format(
        annotations=parts.get("annotations", "    team: payments\n"),
        template=parts.get("template", "      labels: {app: api}\n"),
        marker=parts.get("marker", ""),
    )
    name = f"fleet-{uuid.uuid4().hex[:6]}.git"
    make_bare_repo(git_daemon.base / name, {"apps/w.yaml": text})
    config = write_config(tmp_path / "automator.yaml", git_daemon.url(name), registry)
    with config.open("a") as out:  # the Deployment's image lives on ghcr.io (never contacted)
        out.write("allow_unlisted_registries: [ghcr.io]\n")
    return config


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_is_one_line_and_exit_1(
    mistake: str, tmp_path: Path, git_daemon: GitDaemon, registry: Registry
) -> None:
    parts, where, fix = MISTAKES[mistake]
    config = fleet(tmp_path, git_daemon, registry.host, **parts)
    result = automator("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2, result.stderr  # the mistake, then the count
    assert errors[0].startswith(f"automator: error: fleet: {where}"), errors[0]
    assert errors[0].endswith(fix), errors[0]
    assert errors[0].count("policy 'semver") <= 1
    assert errors[1] == "automator: check: 1 mistakes; fix them and run check again"


def test_a_clean_repo_passes_and_shows_each_origin(
    tmp_path: Path, git_daemon: GitDaemon, registry: Registry, pusher: Pusher
) -> None:
    parts = dict(annotations='    automator.dev/policy.api: "semver:~1.4"\n')
    config = fleet(tmp_path, git_daemon, registry.host, **parts)
    result = automator("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == "fleet: apps/w.yaml:14  ghcr.io/acme/api:1.4.2  semver:~1.4  (annotation)\n"
    )
