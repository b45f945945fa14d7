"""Image variants: the suffix family, the precision and Bitnami build numbers are kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import PolicyError, decision_table, from_argo, parse_policy, select_tag
from policies.variants import Variant, read_variant

DATA = Path(__file__).parent / "data" / "variants" / "official_images.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text())


@pytest.mark.parametrize(
    ("tag", "variant"),
    [
        ("1.2.3-alpine", Variant((1, 2, 3), "alpine")),
        ("8.0-jre17", Variant((8, 0), "jre17")),
        ("11.0.2-debian-12-r3", Variant((11, 0, 2), "debian-12", 3)),
        ("1.2.3-r3", Variant((1, 2, 3), "", 3)),
        ("2.3", Variant((2, 3))),
        ("v2.3", Variant((2, 3))),
        ("20-alpine3.19", Variant((20,), "alpine3.19")),
        ("3.12.1-slim-bookworm", Variant((3, 12, 1), "slim-bookworm")),
        ("1.2.3-rc.1", Variant((1, 2, 3), prerelease="rc.1")),
        ("1.2.3-RC1", Variant((1, 2, 3), prerelease="RC1")),
        ("1.2.3-0", Variant((1, 2, 3), prerelease="0")),
        ("1.2.3-alpine+build.5", Variant((1, 2, 3), "alpine", metadata=True)),
        ("2024.05.1-debian-12-r3", Variant((2024, 5, 1), "debian-12", 3)),
        ("1.2.3-01", None),  # a prerelease with a leading zero, as Masterminds refuses it
        ("1.2.3.4", None),
        ("17.0.10_7-jre", None),
        ("3.13.0a4-slim", None),
        ("latest", None),
        ("1.2.3-alpine-", None),
        ("1.2.3-alpine\n", None),
        ("1" * 300, None),
        ("1" * 30, None),  # past 64 bits
    ],
)
def test_read_variant(tag: str, variant: Variant | None) -> None:
    assert read_variant(tag) == variant


@pytest.mark.parametrize(
    ("policy", "tags", "current", "winner"),
    [
        # the examples: each moves within its own variant
        (
            "semver:^1",
            ["1.2.3-alpine", "1.2.4-alpine", "1.2.5", "1.3.0-alpine3.19", "2.0.0-alpine"],
            "1.2.3-alpine",
            "1.2.4-alpine",
        ),
        ("semver:^8", ["8.0-jre17", "8.1-jre17", "8.1.3-jre17", "8.2-jre11", "8.2"], "8.0-jre17",
         "8.1-jre17"),
        (
            "semver:~11",
            ["11.0.2-debian-12-r3", "11.0.2-debian-12-r10", "11.0.2-debian-12-r9",
             "11.0.3-debian-12", "11.0.2-debian-11-r20", "11.0.2", "12.0.0-debian-12-r1"],
            "11.0.2-debian-12-r3",
            "11.0.2-debian-12-r10",  # r10 after r9: builds are numbers, not text
        ),
        ("semver:*", ["2.3", "2.3.2", "2.4", "2.4.1", "3"], "2.3", "2.4"),
        ("semver:*", ["2", "2.9", "3", "3.1.0"], "2", "3"),
        # a release moves on to the next release of the same family
        ("semver:*", ["1.2.3-rc.1", "1.2.3", "1.2.4-alpine"], "1.2.3-rc.1", "1.2.3"),
        # builds without -r<n> are another family than builds with it
        ("semver:*", ["7.0.1-debian-12-r4", "7.0.2-debian-12"], "7.0.1-debian-12-r4",
         "7.0.1-debian-12-r4"),
        # a current tag that is no version: Masterminds' reading, as before
        ("semver:*", ["1.2.3-alpine", "1.2.2"], "latest", "1.2.2"),
        ("semver:*", ["1.2.3-alpine", "1.2.2"], None, "1.2.2"),
        # the switch back to Masterminds: -alpine is a prerelease, precision is ignored
        ("semver:*;variants=off", ["2.3", "2.3.2", "2.4.1"], "2.3", "2.4.1"),
        ("semver:^1;variants=off", ["1.2.3-alpine", "1.2.4-alpine", "1.2.5"], "1.2.3-alpine",
         "1.2.5"),
        # Flux ImagePolicy (strict) keeps Flux's reading
        ("semver:*;strict", ["1.2.3", "1.2.4-alpine", "1.3"], "1.2.3", "1.2.3"),
        # regex:/glob: keep Masterminds unless asked
        ("glob:1.*", ["1.2.3-alpine", "1.2.4"], "1.2.3-alpine", "1.2.4"),
        ("glob:1.*;variants=on", ["1.2.3-alpine", "1.2.4-alpine", "1.2.4"], "1.2.3-alpine",
         "1.2.4-alpine"),
        # filter=/extract=: the variant is read from the extracted value
        ('semver:*;filter="^app-(?P<v>.+)$";extract=$v', ["app-1.2-alpine", "app-1.3-alpine",
         "app-1.4"], "app-1.2-alpine", "app-1.3-alpine"),
    ],
)  # fmt: skip
def test_select_within_the_variant(
    policy: str, tags: list[str], current: str | None, winner: str
) -> None:
    assert select_tag(parse_policy(policy), tags, current).tag == winner


def test_no_downgrade_within_the_variant() -> None:
    decision = select_tag(
        parse_policy("semver:*"), ["1.2.2-alpine", "1.2.3-alpine"], "1.2.3-alpine"
    )
    assert decision.tag == "1.2.3-alpine" and not decision.changed
    assert [r.code for r in decision.refused] == ["below-current"]


def test_explain_shows_the_variant_reasoning() -> None:
    tags = [
        "11.0.2-debian-12-r3",
        "11.0.2-debian-12-r10",
        "11.0.3-debian-12",
        "11.0.2-debian-11-r1",
    ]
    decision = select_tag(parse_policy("semver:~11"), tags, "11.0.2-debian-12-r3")
    rows = dict(decision_table(decision))
    assert rows["11.0.2-debian-12-r10"] == (
        "selected: highest version of 2 eligible under 'semver:~11'; variant -debian-12 with"
        " -r<n> builds, 3 parts, kept from 11.0.2-debian-12-r3"
    )
    assert rows["11.0.3-debian-12"] == (
        "other-variant: variant -debian-12, 3 parts; the current tag is -debian-12 with -r<n>"
        " builds, 3 parts (variants=off mixes them)"
    )
    assert rows["11.0.2-debian-11-r1"].startswith("other-variant: variant -debian-11 with")


def test_nothing_in_the_variant_says_so() -> None:
    decision = select_tag(parse_policy("semver:*"), ["2.3.1", "2.4.0"], "2.3")
    assert decision.tag is None
    assert "variant no suffix, 2 parts, kept from 2.3" in decision.reason
    assert "2 other-variant" in decision.reason


def test_plain_versions_read_as_before() -> None:
    """No variant note when the rule changed nothing: reasons stay what they were."""
    decision = select_tag(parse_policy("semver:~1.4"), ["1.4.2", "1.4.3", "1.5.0"], "1.4.2")
    assert decision.reason == "highest version of 2 eligible under 'semver:~1.4'"


@pytest.mark.parametrize(
    ("text", "variants"),
    [
        ("semver:^1", True),
        ("semver", True),
        ("semver:^1;variants=off", False),
        ("semver:^1;strict", False),
        ("semver:^1;variants=on", True),
        ("regex:^v;variants=on", True),
        ("regex:^v", False),
        ("alphabetical", False),
    ],
)
def test_variants_option(text: str, variants: bool) -> None:
    assert parse_policy(text).variants is variants


def test_flux_and_argo_keep_masterminds() -> None:
    assert parse_policy("semver:~1.0", flux_v1=True).variants is False
    argo = from_argo("semver", "^1")
    assert argo.variants is False and argo.text == "semver:^1;variants=off"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("semver:^1;variants=maybe", "one of on, off"),
        ("semver:^1;strict;variants=on", "variants=on only with semver ordering"),
        ("alphabetical;variants=on", "variants=on only with semver ordering"),
        ("semver:^1;variants=on;variants=off", "variants at most once"),
    ],
)
def test_variants_option_mistakes(text: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        parse_policy(text)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['image']}:{c['current']}")
def test_official_image_tag_lists(case: dict[str, Any]) -> None:
    policy, tags, current = case["policy"], case["tags"], case["current"]
    assert select_tag(parse_policy(policy), tags, current).tag == case["expected"]
    strict = select_tag(parse_policy(f"{policy};variants=off"), tags, current)
    assert strict.tag == case["masterminds"]


_FAMILY = st.sampled_from(["", "-alpine", "-jre17", "-debian-12", "-debian-12-r{b}", "-r{b}"])
_TAG = st.builds(
    lambda nums, fam, b: ".".join(map(str, nums)) + fam.format(b=b),
    st.lists(st.integers(0, 9), min_size=1, max_size=3),
    _FAMILY,
    st.integers(0, 12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TAG, max_size=20), _TAG)
def test_the_winner_is_in_the_current_family_and_not_below(tags: list[str], current: str) -> None:
    decision = select_tag(parse_policy("semver:*"), [*tags, current], current)
    mine, won = read_variant(current), read_variant(decision.tag or "")
    assert mine is not None and won is not None
    assert won.family == mine.family
    assert won.key >= mine.key
