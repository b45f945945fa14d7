"""Explicit holds in the scan: annotations, markers and rules; slips check refuses."""

from __future__ import annotations

import pytest

from automator.adapters import rules
from automator.config import parse_config
from automator.errors import ConfigError
from automator.manifests import scan_files
from automator.manifests.rules import Rule
from automator.model import Hold, Skip
from automator.plan import decide
from tests.automator.manifests.test_rules import DEPLOYMENT

POLICY = '    automator.dev/policy: "semver:^1"\n'


def scan(
    annotations: str = POLICY, marker: str = "", ruled: tuple[Rule, ...] = ()
) -> tuple[dict[str, Hold | None], list[str]]:
    data = DEPLOYMENT.format(annotations=annotations, marker=marker).encode()
    result = scan_files([("apps/api.yaml", data)], rules=ruled)
    holds = {s.container: s.hold for s in result.sites}
    return holds, [f"{s.where}: {s.reason}; {s.fix}" for s in result.skipped]


def test_a_container_annotation_holds_that_container() -> None:
    holds, skipped = scan(POLICY + '    automator.dev/hold.api: "1.1 breaks checkout"\n')
    assert holds == {"api": Hold("1.1 breaks checkout", "automator.dev/hold.api"), "side": None}
    assert skipped == []


def test_the_workload_annotation_holds_every_container() -> None:
    holds, _ = scan(POLICY + '    automator.dev/hold: "incident 42"\n')
    assert set(holds.values()) == {Hold("incident 42", "automator.dev/hold")}


@pytest.mark.parametrize(
    ("annotation", "slip"),
    [
        ('    automator.dev/hold.web: "x"\n', "automator.dev/hold.web names no container"),
        ('    automator.dev/hold.api: ""\n', "automator.dev/hold.api is empty"),
        ('    automator.dev/hold: ""\n', "automator.dev/hold is empty"),
    ],
)
def test_a_hold_annotation_that_holds_nothing_is_a_slip(annotation: str, slip: str) -> None:
    _, skipped = scan(POLICY + annotation)
    assert len(skipped) == 1 and slip in skipped[0]


def test_a_marker_holds_its_scalar_and_keeps_the_policy() -> None:
    data = DEPLOYMENT.format(annotations=POLICY, marker="  # automator: hold wait for QA")
    [api, side] = scan_files([("apps/api.yaml", data.encode())]).sites
    assert (api.policy, api.hold, side.hold) == ("semver:^1", Hold("wait for QA", "marker"), None)


@pytest.mark.parametrize(
    ("annotations", "slip"),
    [(POLICY, "names no reason"), ("    team: a\n", "holds an image no policy governs")],
)
def test_a_marker_hold_without_reason_or_policy_is_a_slip(annotations: str, slip: str) -> None:
    marker = "  # automator: hold" if "names" in slip else "  # automator: hold wait"
    _, skipped = scan(annotations, marker)
    assert len(skipped) == 1 and slip in skipped[0]


def test_a_hold_rule_holds_whatever_governs_and_governs_nothing() -> None:
    freeze = Rule("freeze", "", containers=("api",), hold="freeze")
    holds, _ = scan("    team: a\n", ruled=(freeze, Rule("all", "semver:^1")))
    assert holds == {"api": Hold("freeze", "rule freeze"), "side": None}
    holds, _ = scan(POLICY, ruled=(freeze,))  # an annotation governs; the rule still holds
    assert holds == {"api": Hold("freeze", "rule freeze"), "side": None}
    assert scan("    team: a\n", ruled=(freeze,))[0] == {}  # nothing governs: nothing to hold


def test_a_held_site_is_decided_without_asking_the_registry() -> None:
    data = DEPLOYMENT.format(annotations=POLICY, marker="  # automator: hold wait")
    site = scan_files([("apps/api.yaml", data.encode())]).sites[0]

    class Unreachable:
        def candidates(self, *args: object, **kwargs: object) -> object:
            raise AssertionError("a held Site asks nothing")

        digest = candidates

    skip = decide(site, Unreachable())  # type: ignore[arg-type]
    assert isinstance(skip, Skip) and skip.hold == Hold("wait", "marker")
    assert "held at 1.0.0 by marker: wait" in skip.reason


def test_rules_hold_in_automator_yaml() -> None:
    entries = [{"name": "freeze", "paths": ["apps"], "hold": "until the 10th"}]
    entries.append({"policy": "semver:^1", "hold": "and this one too"})
    assert rules(parse_config({"sources": [{"name": "f", "url": "/f"}], "rules": entries})) == (
        Rule("freeze", "", paths=("apps",), hold="until the 10th"),
        Rule("rules[1]", "semver:^1", hold="and this one too"),
    )
    for bad, message in (
        ({"hold": " "}, "hold is empty"),
        ({"hold": "x", "options": {"pin-digest": True}}, "takes no options"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_config({"sources": [{"name": "f", "url": "/f"}], "rules": [bad]})
