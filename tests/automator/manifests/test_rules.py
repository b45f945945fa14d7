"""Rules: globs, every field, first match wins, 'off' opts out, annotations beat rules."""

from __future__ import annotations

import pytest

from automator.manifests import scan_files
from automator.manifests.rules import Rule, Target, first_match
from automator.reference import parse_reference


def target(
    file: str = "apps/web/api.yaml", image: str = "ghcr.io/acme/api:1.0", **kw: str
) -> Target:
    fields = {"kind": "Deployment", "namespace": "shop", "container": "api", **kw}
    return Target(file, parse_reference(image), **fields)


@pytest.mark.parametrize(
    ("field", "globs", "matched"),
    [
        ("paths", ("apps",), True),
        ("paths", ("apps/**",), True),
        ("paths", ("apps/*",), True),  # the directory apps/web matches
        ("paths", ("apps/*.yaml",), False),
        ("paths", ("**/api.yaml",), True),
        ("paths", ("apps/legacy",), False),
        ("paths", ("app",), False),
        ("images", ("ghcr.io/acme/*",), True),
        ("images", ("ghcr.io/*",), False),  # * stays within one segment
        ("images", ("ghcr.io/**",), True),
        ("images", ("docker.io/library/nginx",), False),
        ("kinds", ("Deployment",), True),
        ("kinds", ("StatefulSet",), False),
        ("namespaces", ("shop",), True),
        ("namespaces", ("prod",), False),
        ("containers", ("a?i",), True),
        ("containers", ("*-sidecar",), False),
    ],
)
def test_each_field_matches(field: str, globs: tuple[str, ...], matched: bool) -> None:
    rule = Rule("r", "semver:*", **{field: globs})  # type: ignore[arg-type]
    assert rule.matches(target()) is matched


def test_a_docker_hub_image_matches_as_written_and_in_full() -> None:
    nginx = target(image="nginx:1.25")
    assert Rule("r", "semver:*", images=("nginx",)).matches(nginx)
    assert Rule("r", "semver:*", images=("docker.io/library/*",)).matches(nginx)


def test_the_first_match_wins() -> None:
    rules = [Rule("legacy", "off", paths=("apps/web",)), Rule("apps", "semver:^1", paths=("apps",))]
    assert first_match(rules, target()) == rules[0]
    assert first_match(rules, target("apps/api.yaml")) == rules[1]
    assert first_match(rules, target("infra/api.yaml")) is None


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
{annotations}spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0.0{marker}
        - name: side
          image: ghcr.io/acme/side:1.0.0
"""
RULES = (Rule("all", "semver:^1;pin-digest"),)


def scan(annotations: str = "    team: a\n", marker: str = "") -> list[tuple[str, str, str]]:
    data = DEPLOYMENT.format(annotations=annotations, marker=marker).encode()
    result = scan_files([("apps/api.yaml", data)], rules=RULES)
    return [(s.container, s.policy, s.governed_by) for s in result.sites]


def test_a_rule_governs_every_container_no_annotation_covers() -> None:
    assert scan() == [
        ("api", "semver:^1;pin-digest", "rule all"),
        ("side", "semver:^1;pin-digest", "rule all"),
    ]


def test_an_annotation_beats_a_rule() -> None:
    found = scan('    automator.dev/policy.api: "semver:~1.0"\n')
    assert found == [
        ("api", "semver:~1.0", "automator.dev/policy.api"),
        ("side", "semver:^1;pin-digest", "rule all"),
    ]


def test_off_opts_a_workload_or_a_container_out() -> None:
    assert scan('    automator.dev/policy: "off"\n') == []
    assert scan('    automator.dev/policy.side: "off"\n') == [
        ("api", "semver:^1;pin-digest", "rule all")
    ]
    assert scan(marker="  # automator: off") == [("side", "semver:^1;pin-digest", "rule all")]


def test_a_marker_beats_a_rule() -> None:
    assert scan(marker="  # automator: glob:1.*")[0] == ("api", "glob:1.*", "")


def test_without_rules_a_bare_workload_has_no_site() -> None:
    data = DEPLOYMENT.format(annotations="    team: a\n", marker="").encode()
    assert scan_files([("apps/api.yaml", data)]).sites == ()
