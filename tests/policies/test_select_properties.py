"""Properties of select_tag: order independence, filter and range respected, no downgrade."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from policies import VersionError, parse_policy, select_tag
from policies.select import extracted
from policies.semver import parse_flux, parse_version

_NUM = st.integers(min_value=0, max_value=12).map(str)
_PRE = st.sampled_from(["", "-rc.1", "-rc.2", "-alpine", "-0"])
_SEMVERISH = st.builds(
    lambda v, major, minor, patch, pre: f"{v}{major}.{minor}.{patch}{pre}",
    st.sampled_from(["", "v"]),
    _NUM,
    _NUM,
    _NUM,
    _PRE,
)
_TAG = st.one_of(
    _SEMVERISH,
    st.sampled_from(["latest", "stable", "sha256-ab.sig", "1.2", "1700", "2023.01.05", "v1"]),
)
_TAGS = st.lists(_TAG, max_size=25)
_POLICIES = st.sampled_from(
    [
        "semver:^1",
        "semver:~1.2 || >=4.0.0-0",
        "semver:>=2, <5, !=3.x",
        "semver:*;strict",
        "semver:1.x;prerelease",
        "semver:^1;ignore=*-alpine",
        "regex:^v",
        "glob:1.*",
        "alphabetical",
        "alphabetical:desc",
        "semver:*;filter=^(?P<v>[0-9.]+)-alpine$;extract=$v",
        "regex:^[0-9]+$;order=numerical",
    ]
)


@settings(max_examples=300, deadline=None)
@given(_POLICIES, _TAGS, st.one_of(st.none(), _TAG), st.randoms(use_true_random=False))
def test_winner_does_not_depend_on_input_order(
    text: str, tags: list[str], current: str | None, rnd: random.Random
) -> None:
    policy = parse_policy(text)
    shuffled = list(tags)
    rnd.shuffle(shuffled)
    first = select_tag(policy, tags, current)
    second = select_tag(policy, shuffled, current)
    assert (first.tag, first.reason, first.refused) == (second.tag, second.reason, second.refused)


@settings(max_examples=300, deadline=None)
@given(_POLICIES, _TAGS, st.one_of(st.none(), _TAG))
def test_winner_passes_filter_and_range_and_never_downgrades(
    text: str, tags: list[str], current: str | None
) -> None:
    policy = parse_policy(text)
    decision = select_tag(policy, tags, current)
    if decision.tag is None:
        return
    assert decision.tag in tags
    value = extracted(policy, decision.tag)
    assert value is not None
    if policy.order != "semver":
        return
    parse = parse_flux if policy.strict else parse_version
    assert policy.constraints is not None
    assert policy.constraints.check(parse(value))
    cur_value = extracted(policy, current) if current else None
    if cur_value is None:
        return
    try:
        cur = parse(cur_value)
    except VersionError:
        return
    assert parse(value) >= cur


@settings(max_examples=200, deadline=None)
@given(_TAGS, st.one_of(st.none(), _TAG))
def test_allow_downgrade_only_widens(tags: list[str], current: str | None) -> None:
    kept = select_tag(parse_policy("semver:^1"), tags, current)
    loose = select_tag(parse_policy("semver:^1;allow-downgrade"), tags, current)
    if kept.tag is not None:
        assert loose.tag is not None
        assert parse_version(loose.tag) >= parse_version(kept.tag)
