"""``rules:`` in automator.yaml: validated at load time, options folded into the policy."""

from __future__ import annotations

import pytest

from automator.adapters import rules
from automator.config import parse_config
from automator.errors import ConfigError
from automator.manifests.rules import Rule


def config(*entries: dict[str, object]) -> dict[str, object]:
    return {"sources": [{"name": "fleet", "url": "/srv/fleet"}], "rules": list(entries)}


def test_options_are_folded_into_the_policy_in_order() -> None:
    entry = {"name": "apps", "paths": ["apps"], "policy": "semver:^1"}
    entry["options"] = {"min-age": "24h", "pin-digest": True, "prerelease": False}
    assert rules(parse_config(config(entry, {"policy": "off"}))) == (
        Rule("apps", "semver:^1;min-age=24h;pin-digest", paths=("apps",)),
        Rule("rules[1]", "off"),
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"policy": "semver>=1.0"},
            "automator.yaml: rules[0]: policy 'semver>=1.0': column 1: expected a policy name",
        ),
        ({"policy": "off", "options": {"pin-digest": True}}, "policy off takes no options"),
        ({"paths": ["apps"]}, "automator.yaml: rules[0].policy: required; add it"),
        ({"policy": "semver:*", "kind": ["Deployment"]}, "rules[0].kind: unknown key"),
    ],
)
def test_a_bad_rule_names_itself(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config(entry))
    assert message in str(caught.value)
    assert str(caught.value).count("policy 'semver") <= 1
