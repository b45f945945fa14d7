"""Fuzzing the pure parsers: only their documented errors, and round trips where they exist.

CI runs a few hundred examples each. For a long run:

    AUTOMATOR_FUZZ_EXAMPLES=100000 python -m pytest tests/hostile/test_fuzz.py -q
"""

from __future__ import annotations

import contextlib
import os
import re

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automator.daemon.webhooks import PARSERS, PayloadError, parse_delivery
from automator.errors import ReferenceError_
from automator.forges.content import group_of, marker
from automator.reference import TAG_RE, parse_reference
from policies import PolicyError, parse_constraint, parse_policy, parse_version, select_tag
from policies.filters import (
    MATCH_SECONDS,
    PatternClock,
    PatternTooSlow,
    backtracking_problem,
)
from testing.patterns import ACCEPTED, POLYNOMIAL, POLYNOMIAL_TAGS, SLOW, SLOW_TAG, WORST_TAGS

EXAMPLES = int(os.environ.get("AUTOMATOR_FUZZ_EXAMPLES", "300"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POLICY_WORDS = st.sampled_from(
    ["semver:", "regex:", "glob:", "alphabetical", "numerical", "newest-build", "digest:",
     ";", "filter=", "extract=", "ignore=", "pin-digest", "platform=", "min-age=", "1.x",
     "~1.4", "^1", ">=1.2 <2", "||", "$ts", "(?P<ts>\\d+)", "'", '"', "\\", "*", " "]
)  # fmt: skip
REFERENCE_PIECES = st.sampled_from(
    ["ghcr.io", "/", "acme", "api", ":", "1.4.2", "@", "sha256:" + "a" * 64, "localhost",
     ":5000", "..", "-", "_", "__", "A", "[::1]", "\n", " ", "é"]
)  # fmt: skip


@fuzz
@given(st.one_of(st.text(max_size=300), st.lists(REFERENCE_PIECES, max_size=12).map("".join)))
def test_references_round_trip_or_are_refused(text: str) -> None:
    try:
        ref = parse_reference(text)
    except ReferenceError_:
        return
    assert str(ref) == text
    assert parse_reference(str(ref)) == ref
    assert ref.tag is None or TAG_RE.fullmatch(ref.tag)
    assert text.isascii() and not any(c.isspace() or c in "'\"{}#" for c in text)


@fuzz
@given(st.one_of(st.text(max_size=200), st.lists(POLICY_WORDS, max_size=10).map("".join)))
def test_policy_strings_parse_or_raise_policy_error(text: str) -> None:
    try:
        policy = parse_policy(text)
    except PolicyError:
        return
    for pattern in (policy.match, policy.filter):
        if isinstance(pattern, re.Pattern):
            assert backtracking_problem(pattern.pattern) is None


@fuzz
@given(st.one_of(st.text(max_size=100), st.lists(POLICY_WORDS, max_size=8).map("".join)))
def test_constraints_parse_or_raise_constraint_errors(text: str) -> None:
    with contextlib.suppress(PolicyError):
        parse_constraint(text)


@fuzz
@given(st.text(alphabet="0123456789.-+vV=abcrt", max_size=60) | st.text(max_size=60))
def test_versions_parse_or_raise_version_errors(text: str) -> None:
    try:
        version = parse_version(text)
    except PolicyError:
        return
    assert parse_version(str(version)) == version


@fuzz
@given(st.text(min_size=1, max_size=200))  # a group always has a name
def test_pull_request_markers_round_trip(group: str) -> None:
    line = marker(group)
    assert "\n" not in line and "-->" not in line[:-3]
    assert group_of(f"body\n{line}\n") == group


@fuzz
@given(
    st.sampled_from(sorted(PARSERS)),
    st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
)
def test_webhook_payloads_name_only_valid_images_or_raise(kind: str, body: bytes) -> None:
    try:
        delivery = parse_delivery(kind, body, {})
    except PayloadError:
        return
    for name in delivery.images:
        assert parse_reference(name).canonical_name == name


CATASTROPHIC = [r"(a+)+$", r"(a|a)+$", r"(a|aa)*b", r"^(\w+\s?)*$", r"(.*a){1,32}x", r"(x+x+)+y"]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_patterns_that_backtrack_exponentially_are_refused(pattern: str) -> None:
    with pytest.raises(PolicyError, match="repetition"):
        parse_policy(f"regex:{pattern}")
    with pytest.raises(PolicyError, match="repetition"):
        parse_policy(f"alphabetical;filter={pattern}")


def test_the_patterns_we_accept_stay_fast_on_the_worst_tags() -> None:
    """Accepted shapes against 128-character adversarial tags: no match needs its timeout.

    The figures are in ``bench/bench_policies.py``.
    """
    for pattern in ACCEPTED:
        compiled = parse_policy(f"regex:{pattern}").match
        assert isinstance(compiled, regex.Pattern)
        search = PatternClock().bind(compiled.search)
        for tag in WORST_TAGS:
            search(tag)  # raises PatternTooSlow if the match ran past MATCH_SECONDS


def test_a_pattern_that_runs_past_its_time_bound_fails_the_decision_quickly() -> None:
    decision = select_tag(parse_policy(f"regex:{SLOW}"), ["1.0", SLOW_TAG, "2.0"], None)
    assert decision.failed and decision.tag is None
    assert (
        "ran past its time bound" in decision.reason and "simplify the pattern" in decision.reason
    )
    assert repr(SLOW_TAG[:40]) in decision.reason
    # what stopped it: the per-match timeout on its first slow match, not the decision's budget
    compiled = parse_policy(f"regex:{SLOW}").match
    assert isinstance(compiled, regex.Pattern)
    with pytest.raises(PatternTooSlow) as caught:
        PatternClock().bind(compiled.search)(SLOW_TAG)
    assert (caught.value.tag, caught.value.seconds) == (SLOW_TAG, MATCH_SECONDS)


def test_polynomial_shapes_stay_fast() -> None:
    """Shapes re needs seconds or minutes for finish every match under its timeout here."""
    for pattern in POLYNOMIAL:
        if backtracking_problem(pattern):
            continue
        decision = select_tag(parse_policy(f"regex:{pattern}"), POLYNOMIAL_TAGS, None)
        assert not decision.failed, decision.reason  # failed: a match ran past MATCH_SECONDS
