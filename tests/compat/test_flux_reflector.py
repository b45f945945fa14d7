"""fluxcd/image-reflector-controller ``internal/policy/*_test.go``, ported.

Each ImagePolicy goes the way a repo's would: ``translate`` (the spec as our policy
string), ``parse_policy``, ``select_tag``. Flux's "error" outcomes (no tag qualifies,
an invalid range) are ours too: no winner, or a PolicyError/ManifestError.
Case ids are ``<file>::<test>/<label>``; the commit of each file is in ``COMMITS``.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from automator.errors import ManifestError
from automator.manifests.fluxv2 import translate
from policies import PolicyError, parse_policy, select_tag

REPO = "fluxcd/image-reflector-controller"
COMMITS = {
    "semver_test.go": "60e1fb88fa27ef7cbfb32408c70799bce7c6e894",
    "alphabetical_test.go": "60e1fb88fa27ef7cbfb32408c70799bce7c6e894",
    "numerical_test.go": "1e4b1a0ea59a6306d3882b5e4cbdedc20f857753",
    "filter_test.go": "cbcad122f9a327ae5e45e2ec949732539741123b",
    "factory_test.go": "157c5be47af0f4f678246dd3e306be939b4e4fc3",
}


def policy_text(choice: dict[str, Any], filter_tags: dict[str, str] | None = None) -> str:
    spec: dict[str, Any] = {"imageRepositoryRef": {"name": "repo"}, "policy": choice}
    if filter_tags:
        spec["filterTags"] = filter_tags
    return translate(spec, "compat/policy")


def latest(
    choice: dict[str, Any], tags: list[str], filter_tags: dict[str, str] | None = None
) -> str | None:
    return select_tag(parse_policy(policy_text(choice, filter_tags)), tags, None).tag


def shuffled(tags: list[str]) -> list[str]:
    out = list(tags)
    random.Random(13).shuffle(out)  # upstream shuffles with math/rand
    return out


# semver_test.go :: TestNewSemVer
@pytest.mark.parametrize("range_", ["1.0.x", "^1.0", "=1.0.0", "~1.0", ">=1.0", ">0,<2.0"])
def test_semver_test_TestNewSemVer_valid_range(range_: str) -> None:
    parse_policy(policy_text({"semver": {"range": range_}}))


@pytest.mark.parametrize("range_", ["1.0.0p", "1x", "x1", "-1", "a", ""])
def test_semver_test_TestNewSemVer_invalid_range(range_: str) -> None:
    with pytest.raises((PolicyError, ManifestError)):
        parse_policy(policy_text({"semver": {"range": range_}}))


SEMVER_LATEST = [
    ("Regular", "1.0.x", ["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"], "1.0.1"),
    ("Regular with prefix", "1.0.x", ["v1.2.3", "v1.0.0", "v0.1.0"], "v1.0.0"),
    ("With invalid prefix", "1.0.x", ["b1.2.3", "b1.0.0", "b0.1.0"], None),
    ("With empty list", "1.0.x", [], None),
    ("With non-matching version list", "1.0.x", ["1.2.0"], None),
]


@pytest.mark.parametrize(
    ("range_", "tags", "expected"),
    [case[1:] for case in SEMVER_LATEST],
    ids=[f"semver_test.go::TestSemVer_Latest/{case[0]}" for case in SEMVER_LATEST],
)
def test_semver_latest(range_: str, tags: list[str], expected: str | None) -> None:
    assert latest({"semver": {"range": range_}}, tags) == expected


# alphabetical_test.go :: TestNewAlphabetical / numerical_test.go :: TestNewNumerical
@pytest.mark.parametrize("kind", ["alphabetical", "numerical"])
@pytest.mark.parametrize(
    ("order", "ok"), [("", True), ("asc", True), ("desc", True), ("invalid", False)]
)
def test_new_alphabetical_and_numerical_orders(kind: str, order: str, ok: bool) -> None:
    choice = {kind: {"order": order} if order else {}}
    if ok:
        parse_policy(policy_text(choice))
    else:
        with pytest.raises(ManifestError):
            policy_text(choice)


UBUNTU = ["16.04", "16.04.1", "16.10", "20.04", "20.10"]
NAMES = ["xenial", "yakkety", "zesty", "artful", "bionic"]
STAMPS = ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"]
ALPHABETICAL = [
    ("Ubuntu CalVer", "", UBUNTU, "20.10"),
    ("Ubuntu CalVer descending", "desc", UBUNTU, "16.04"),
    ("Ubuntu code names", "", NAMES, "zesty"),
    ("Ubuntu code names descending", "desc", NAMES, "artful"),
    ("Timestamps", "", STAMPS, "1606364286"),
    ("Timestamps desc", "desc", STAMPS, "1606234201"),
    ("Timestamps with prefix", "", [f"rel-{s}" for s in STAMPS], "rel-1606364286"),
    ("Empty version list", "", [], None),
]


@pytest.mark.parametrize(
    ("order", "tags", "expected"),
    [case[1:] for case in ALPHABETICAL],
    ids=[f"alphabetical_test.go::TestAlphabetical_Latest/{case[0]}" for case in ALPHABETICAL],
)
def test_alphabetical_latest(order: str, tags: list[str], expected: str | None) -> None:
    assert latest({"alphabetical": {"order": order} if order else {}}, tags) == expected


NUMERICAL = [
    (
        "With unordered list of integers ascending",
        "",
        ["-62", "-88", "73", "72", "15", "16", "15", "29", "-33", "-91"],
        "73",
    ),
    (
        "With unordered list of integers descending",
        "desc",
        ["5", "-8", "-78", "25", "70", "-4", "80", "92", "-20", "-24"],
        "-78",
    ),
    (
        "With unordered list of floats ascending",
        "",
        [
            "47.40896403322944",
            "-27.8520927455902",
            "-27.930666514224427",
            "-31.352485948094568",
            "-50.41072694704882",
            "-21.962849842263736",
            "24.71884721436865",
            "-39.99177354004344",
            "53.47333823144817",
            "3.2008658570411086",
        ],
        "53.47333823144817",
    ),
    (
        "With unordered list of floats descending",
        "desc",
        [
            "-65.27202780220686",
            "57.82948329142309",
            "22.40184684363291",
            "-86.36934305697784",
            "-90.29082099756083",
            "-12.041712603564264",
            "77.70488240399305",
            "-38.98425003883552",
            "16.06867070412028",
            "53.735674335181216",
        ],
        "-90.29082099756083",
    ),
    ("With Unix Timestamps ascending", "", STAMPS, "1606364286"),
    ("With Unix Timestamps descending", "desc", STAMPS, "1606234201"),
    ("With single value ascending", "", ["1"], "1"),
    ("With single value descending", "desc", ["1"], "1"),
    ("With invalid numerical value", "", ["0", "1a", "b"], None),
    ("Empty version list", "", [], None),
]


@pytest.mark.parametrize(
    ("order", "tags", "expected"),
    [case[1:] for case in NUMERICAL],
    ids=[f"numerical_test.go::TestNumerical_Latest/{case[0]}" for case in NUMERICAL],
)
def test_numerical_latest(order: str, tags: list[str], expected: str | None) -> None:
    """Tags starting with '-' are listed in DIFFERENCES.md: no registry holds one
    (a tag must start with [A-Za-z0-9_]), so the negative numbers are refused."""
    choice = {"numerical": {"order": order} if order else {}}
    got = latest(choice, shuffled(tags))
    if any(t.startswith("-") for t in tags):
        valid = [t for t in tags if not t.startswith("-")]
        pick = max if order != "desc" else min
        expected = pick(valid, key=float) if valid else None
    assert got == expected


FILTERS = [
    ("none", ["a"], None, None, ["a"]),
    ("valid pattern", ["ver1", "ver2", "ver3", "rel1"], "^ver", None, ["ver1", "ver2", "ver3"]),
    (
        "valid pattern with capture group",
        ["ver1", "ver2", "ver3", "rel1"],
        r"ver(\d+)",
        "$1",
        ["1", "2", "3"],
    ),
]


@pytest.mark.parametrize(
    ("tags", "pattern", "extract", "expected"),
    [case[1:] for case in FILTERS],
    ids=[f"filter_test.go::TestRegexFilter/{case[0]}" for case in FILTERS],
)
def test_regex_filter(
    tags: list[str], pattern: str | None, extract: str | None, expected: list[str]
) -> None:
    """Which tags pass filterTags, and the values they are ordered by (upstream's
    assertion is inverted, see DIFFERENCES.md; we test what it means)."""
    from policies.select import extracted

    filter_tags = {k: v for k, v in (("pattern", pattern), ("extract", extract)) if v}
    policy = parse_policy(policy_text({"alphabetical": {}}, filter_tags))
    values = [extracted(policy, tag) for tag in tags]
    assert sorted(v for v in values if v is not None) == expected


def test_factory_test_TestFactory_PolicerFromSpec() -> None:
    with pytest.raises(ManifestError):
        policy_text({})
    parse_policy(policy_text({"semver": {"range": "1.0.x"}}))
    parse_policy(policy_text({"alphabetical": {}}))
    with pytest.raises(PolicyError):
        parse_policy(policy_text({"semver": {"range": "*-*"}}))
