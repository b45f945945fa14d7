"""``min-age`` measured from first sight (``age-from=first-seen``) and from build times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies import Candidate, PolicyError, awaiting_age, parse_policy, select_tag

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TAGS = ["1.4.2", "1.4.3", "1.4.4", "1.5.0", "junk"]


def test_age_from_is_read_and_defaults_to_the_callers_choice() -> None:
    assert parse_policy("semver:~1.4;min-age=24h").age_from == "build"
    assert parse_policy("semver:~1.4;min-age=24h", age_from="first-seen").age_from == "first-seen"
    policy = parse_policy("semver:~1.4;min-age=24h;age-from=build", age_from="first-seen")
    assert policy.age_from == "build" and policy.needs_created
    seen = parse_policy("semver:~1.4;min-age=24h;age-from=first-seen")
    assert seen.age_from == "first-seen" and not seen.needs_created  # no build times to read
    assert parse_policy("semver:~1.4", age_from="first-seen").age_from == "build"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("semver:~1.4;age-from=first-seen", "age-from= only with min-age="),
        ("semver:~1.4;min-age=1h;age-from=pushed", "one of build, first-seen"),
    ],
)
def test_age_from_mistakes(text: str, says: str) -> None:
    with pytest.raises(PolicyError, match=says):
        parse_policy(text)


def test_a_tag_waits_until_its_first_sight_is_old_enough() -> None:
    policy = parse_policy("semver:~1.4;min-age=24h;age-from=first-seen")
    seen = {"1.4.3": NOW - timedelta(hours=30), "1.4.4": NOW - timedelta(hours=2)}
    decision = select_tag(policy, TAGS, "1.4.2", now=NOW, seen=seen)
    assert decision.tag == "1.4.3"
    [young] = [r for r in decision.refused if r.tag == "1.4.4"]
    assert young.code == "too-young"
    assert young.reason == (
        "first seen 2026-12-02T10:00Z by automator, 2 h ago, younger than min-age 1d"
    )


def test_an_unrecorded_tag_counts_as_seen_now_and_the_running_tag_is_exempt() -> None:
    policy = parse_policy("semver:~1.4;min-age=24h;age-from=first-seen")
    decision = select_tag(policy, TAGS, "1.4.2", now=NOW, seen={})
    assert decision.tag == "1.4.2" and decision.reason.startswith("already newest")
    reasons = {r.tag: r.reason for r in decision.refused if r.code == "too-young"}
    assert reasons == {
        t: "not recorded as seen by automator before now, younger than min-age 1d"
        for t in ("1.4.3", "1.4.4")
    }


def test_build_age_is_unchanged() -> None:
    policy = parse_policy("semver:~1.4;min-age=24h")
    built = [Candidate("1.4.3", NOW - timedelta(hours=2))]
    [young] = select_tag(policy, built, "1.4.2", now=NOW).refused
    assert young.reason == "built 2:00:00 ago, younger than min-age 1 day, 0:00:00"


def test_awaiting_age_lists_what_would_win_first_then_the_other_eligible() -> None:
    policy = parse_policy("semver:~1.4;min-age=24h;age-from=first-seen")
    assert awaiting_age(policy, TAGS, "1.4.2") == ("1.4.4", "1.4.3")
    assert awaiting_age(policy, TAGS, "1.4.4") == ()
    assert awaiting_age(parse_policy("semver:~1.4"), TAGS, "1.4.2") == ()
    assert awaiting_age(parse_policy("digest:stable;min-age=1h"), TAGS, None) == ()
