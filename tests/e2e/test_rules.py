"""One rule in automator.yaml does what 200 annotations do: same plan, same commit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, write_config

FILES = 200
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc{index}
  namespace: shop
  annotations:
{governs}spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}{marker}
"""
ANNOTATION = '    automator.dev/policy.app: "semver:^1"\n'
RULES = """\
rules:
  - name: legacy stays put
    paths: [apps/legacy]
    policy: "off"
  - name: shop
    paths: ["apps/**"]
    kinds: [Deployment]
    namespaces: [shop]
    images: ["{host}/acme/*"]
    containers: [app]
    policy: semver:^1
"""


def fleets(host: str, images: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The same 200 Deployments: annotated one by one, and bare for the rule to find."""
    annotated: dict[str, str] = {}
    ruled: dict[str, str] = {}
    for index in range(FILES):
        folder = "apps/legacy" if index % 50 == 7 else f"apps/team{index % 4}"
        path = f"{folder}/svc{index}.yaml"
        image = f"{images[index % len(images)]}:1.0.0"
        plain = dict(index=index, image=image, marker="")
        # the rule's copy keeps a comment where the annotation was, so lines match
        governs = ANNOTATION if "legacy" not in folder else "    team: shop\n"
        annotated[path] = WORKLOAD.format(governs=governs, **plain)
        if index == 11:  # opted out by annotation in the rule's copy, untouched in both
            annotated[path] = WORKLOAD.format(governs="    team: shop\n", **plain)
            ruled[path] = WORKLOAD.format(governs='    automator.dev/policy: "off"\n', **plain)
        elif index == 12:  # opted out by marker
            annotated[path] = WORKLOAD.format(governs="    team: shop\n", **plain)
            opted = dict(plain, marker="  # automator: off")
            ruled[path] = WORKLOAD.format(governs="    team: shop\n", **opted)
        else:
            ruled[path] = WORKLOAD.format(governs="    team: shop\n", **plain)
    return annotated, ruled


def image_lines(remote: Path) -> list[str]:
    """Every image line at main, without the opt-out marker only one copy has."""
    found = git("grep", "-n", "image:", "main", "--", "apps", cwd=remote).splitlines()
    return sorted(line.removesuffix("  # automator: off") for line in found)


def sites(stdout: str) -> list[tuple[object, ...]]:
    document = json.loads(stdout)
    keys = ("file", "line", "image", "status", "update")
    return [
        (*(site[k] for k in keys), site["current"]["tag"], (site["new"] or {}).get("tag"))
        for site in document["sources"][0]["sites"]
    ]


def test_one_rule_does_what_200_annotations_do(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    run = uuid.uuid4().hex[:8]
    images = [f"{registry.host}/acme/part{n}-{run}" for n in range(4)]
    for image in images:
        pusher.tag(image.split("/", 1)[1], ["1.0.0", "1.1.0", "2.0.0"])
    annotated, ruled = fleets(registry.host, images)
    remotes = {
        "annotated": make_bare_repo(git_daemon.base / "annotated.git", annotated),
        "ruled": make_bare_repo(git_daemon.base / "ruled.git", ruled),
    }
    configs = {}
    for name in remotes:
        (tmp_path / name).mkdir()
        configs[name] = write_config(
            tmp_path / name / "automator.yaml", git_daemon.url(f"{name}.git"), registry.host
        )
    with configs["ruled"].open("a") as config:
        config.write(RULES.format(host=registry.host))

    plans = {
        name: automator("plan", "--output", "json", "--config", str(config), cwd=tmp_path)
        for name, config in configs.items()
    }
    for result in plans.values():
        assert result.returncode == 0, result.stderr
    assert sites(plans["ruled"].stdout) == sites(plans["annotated"].stdout)
    changed = [s for s in sites(plans["ruled"].stdout) if s[3] == "changed"]
    assert len(changed) == FILES - 4 - 2  # four under apps/legacy, two opted out
    assert {s[4] for s in changed} == {"minor"}
    origins = {s["origin"] for s in json.loads(plans["ruled"].stdout)["sources"][0]["sites"]}
    assert origins == {"rule"}

    check = automator("check", "--config", str(configs["ruled"]), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stdout.count("(rule shop)") == len(changed)

    for config in configs.values():
        result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert image_lines(remotes["ruled"]) == image_lines(remotes["annotated"])
    assert sum(":1.1.0" in line for line in image_lines(remotes["ruled"])) == len(changed)
