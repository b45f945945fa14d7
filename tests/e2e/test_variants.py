"""Image variants end to end: real registry, real remote, ``run --once`` then ``explain``.

Each image moves within its variant (``-alpine``, ``-jre17``, ``-debian-12`` with Bitnami
build numbers) and keeps its precision (``2.3`` -> ``2.4``); ``variants=off`` reads the
same tags as Masterminds does.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, commits, write_config

TAGS = {
    "alpine": ["1.2.3-alpine", "1.2.4-alpine", "1.2.5", "1.3.0-alpine3.19", "2.0.0-alpine"],
    "jre": ["8.0-jre17", "8.1-jre17", "8.1.3-jre17", "8.2-jre11", "8.2", "9.0-jre17"],
    "bitnami": [
        "11.0.2-debian-12-r3",
        "11.0.2-debian-12-r9",
        "11.0.2-debian-12-r10",
        "11.0.3-debian-12",
        "11.0.2-debian-11-r20",
        "12.0.0-debian-12-r1",
    ],
    "short": ["2.3", "2.3.2", "2.4", "2.4.1", "3"],
}
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: variants
  annotations:
    automator.dev/policy.alpine: "semver:^1"
    automator.dev/policy.jre: "semver:^8"
    automator.dev/policy.bitnami: "semver:~11"
    automator.dev/policy.short: "semver:^2"
    automator.dev/policy.strict: "semver:^1;variants=off"
spec:
  template:
    spec:
      containers:
        - name: alpine
          image: {reg}/{alpine}:1.2.3-alpine
        - name: jre
          image: {reg}/{jre}:8.0-jre17
        - name: bitnami
          image: {reg}/{bitnami}:11.0.2-debian-12-r3
        - name: short
          image: "{reg}/{short}:2.3"  # two parts stay two parts
        - name: strict
          image: {reg}/{alpine}:1.2.3-alpine
"""
# after one run: each within its variant; the last reads -alpine as Masterminds does
# (a prerelease, below 1.2.5)
MOVED = (
    MANIFEST.replace(
        "{alpine}:1.2.3-alpine\n        - name: jre", "{alpine}:1.2.4-alpine\n        - name: jre"
    )
    .replace("8.0-jre17", "8.1-jre17")
    .replace("11.0.2-debian-12-r3", "11.0.2-debian-12-r10")
    .replace("{short}:2.3", "{short}:2.4")
    .replace("{alpine}:1.2.3-alpine\n", "{alpine}:1.2.5\n")
)


def test_images_move_within_their_variant(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    repos = {name: f"acme/{name}-{suffix}" for name in TAGS}
    for name, tags in TAGS.items():
        pusher.tag(repos[name], tags)
    text = MANIFEST.format(reg=registry.host, **repos)
    remote = make_bare_repo(git_daemon.base / "variants.git", {"apps/variants.yaml": text})
    url = git_daemon.url("variants.git")
    config = write_config(tmp_path / "automator.yaml", url, registry.host)
    before = commits(remote)

    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(commits(remote)) == len(before) + 1, "one commit for every change"
    expected = MOVED.format(reg=registry.host, **repos)
    assert git("show", "main:apps/variants.yaml", cwd=remote) == expected

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(commits(remote)) == len(before) + 1, "the second run is idle"


def test_explain_shows_the_variant(tmp_path: Path, registry: Registry, pusher: Pusher) -> None:
    repo = f"acme/bitnami-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, TAGS["bitnami"])
    image = f"{registry.host}/{repo}:11.0.2-debian-12-r3"
    result = automator("explain", image, "--policy", "semver:~11", "--insecure", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    verdicts = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()[1:]}
    assert verdicts["11.0.2-debian-12-r10"] == (
        "selected: highest version of 3 eligible under 'semver:~11'; variant -debian-12 with"
        " -r<n> builds, 3 parts, kept from 11.0.2-debian-12-r3"
    )
    assert verdicts["11.0.3-debian-12"].startswith("other-variant: variant -debian-12, 3 parts;")
    assert verdicts["11.0.2-debian-11-r20"].startswith("other-variant: variant -debian-11 with")
    assert verdicts["12.0.0-debian-12-r1"].startswith("out-of-range:")
