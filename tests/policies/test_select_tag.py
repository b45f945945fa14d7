"""select_tag: winners, refusals with reasons, downgrades, ties and Flux's orderings."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest

from policies import Candidate, Decision, Refusal, decision_table, parse_policy, select_tag

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def pick(text: str, tags: list[str], current: str | None = None) -> Decision:
    return select_tag(parse_policy(text), tags, current, now=NOW)


def codes(decision: Decision) -> dict[str, str]:
    return {r.tag: r.code for r in decision.refused}


@pytest.mark.parametrize(
    ("text", "tags", "current", "winner"),
    [
        ("semver:~1.4", ["1.4.2", "1.4.3", "1.5.0"], "1.4.2", "1.4.3"),
        ("semver:^1", ["1.0.0", "1.9.9", "2.0.0", "v1.10.0"], None, "v1.10.0"),
        ("semver:>=1.0.0-0", ["1.0.0", "1.1.0-rc.1"], None, "1.1.0-rc.1"),
        ("semver:^1;prerelease", ["1.0.0", "1.1.0-rc.1"], None, "1.1.0-rc.1"),
        ("semver:^1", ["1.0.0", "1.1.0-rc.1"], None, "1.0.0"),
        ("semver", ["1.2", "2023.01.05", "latest"], None, "2023.01.05"),
        ("semver;strict", ["1.2", "2023.01.05", "1.0.0", "v1.1.0"], None, "v1.1.0"),
        ("alphabetical", ["RELEASE.2024-01-02", "RELEASE.2023-12-31"], None, "RELEASE.2024-01-02"),
        ("alphabetical:desc", ["b", "a", "c"], None, "a"),
        ("alphabetical", ["9", "10"], None, "9"),
        ("numerical", ["9", "10", "1e1", "-3"], None, "10"),
        ("numerical:desc", ["9", "10", "0.5"], None, "0.5"),
        ("glob:1.*", ["1.2.0", "1.10.0", "2.0.0", "1.x"], None, "1.10.0"),
        ("regex:^v1\\.", ["v1.2.0", "v1.3.0", "v2.0.0"], None, "v1.3.0"),
        ("regex:^v1\\.;order=alphabetical", ["v1.9", "v1.10"], None, "v1.9"),
        (
            'semver:^1;filter="^(?P<v>[0-9.]+)-alpine$";extract=$v',
            ["1.2.0-alpine", "1.3.0-alpine", "1.4.0", "2.0.0-alpine"],
            None,
            "1.3.0-alpine",
        ),
        (
            "numerical;filter=^main-[a-f0-9]+-(?P<ts>[0-9]+);extract=${ts}",
            ["main-aa-100", "main-bb-99", "main-cc-1000", "latest", "pr-1-5000"],
            None,
            "main-cc-1000",
        ),
        (
            "alphabetical;filter=^RELEASE\\.(.*)Z$;extract=$1",
            ["RELEASE.b Z", "RELEASE.aZ"],
            None,
            "RELEASE.aZ",
        ),
    ],
)
def test_winners(text: str, tags: list[str], current: str | None, winner: str) -> None:
    assert pick(text, tags, current).tag == winner


def test_every_refusal_names_its_reason() -> None:
    tags = [
        "1.4.1",
        "1.4.2",
        "1.4.3",
        "1.5.0",
        "1.4.4-rc.1",
        "latest",
        "sha256-abc.sig",
        "sha256-abc.att",
        "sha256-abc.sbom",
        "1.4.9-debug",
        "x" * 129,
        "bad tag",
    ]
    decision = pick("semver:~1.4;ignore=*-debug", tags, "1.4.2")
    assert decision.tag == "1.4.3"
    assert decision.changed
    assert codes(decision) == {
        "1.4.1": "below-current",
        "1.4.2": "not-newest",
        "1.5.0": "out-of-range",
        "1.4.4-rc.1": "prerelease",
        "latest": "not-a-version",
        "sha256-abc.sig": "cosign",
        "sha256-abc.att": "cosign",
        "sha256-abc.sbom": "cosign",
        "1.4.9-debug": "ignored",
        "x" * 129: "invalid-tag",
        "bad tag": "invalid-tag",
    }
    reasons = {r.tag: r.reason for r in decision.refused}
    assert "does not have same major and minor version" in reasons["1.5.0"]
    assert "ignore=*-debug" in reasons["1.4.9-debug"]
    rows = decision_table(decision)
    assert rows[0][0] == "1.4.3" and rows[0][1].startswith("selected")
    assert len(rows) == len(tags)
    assert decision_table(decision, limit=3)[-1] == ("...", f"{len(tags) - 3} more rows")


def test_filtered_reason() -> None:
    decision = pick("regex:^v1\\.;filter=rc", ["v1.0.0-rc.1", "v2.0.0", "v1.0.0"])
    assert codes(decision) == {
        "v2.0.0": "filtered",
        "v1.0.0": "filtered",
        "v1.0.0-rc.1": "prerelease",
    }
    assert decision.tag is None
    assert "2 filtered" in decision.reason and "1 prerelease" in decision.reason


def test_current_is_a_valid_winner() -> None:
    decision = pick("semver:^1", ["1.0.0", "1.2.0"], "1.2.0")
    assert decision.tag == "1.2.0" and not decision.changed
    assert decision.reason.startswith("already newest")
    assert decision_table(decision)[0][1].startswith("selected (already running)")


def test_never_a_downgrade() -> None:
    decision = pick("semver:^1", ["1.0.0", "1.2.0"], "2.0.0")
    assert decision.tag is None
    assert set(codes(decision).values()) == {"below-current"}
    assert "nothing orders at or above the current tag 2.0.0" in decision.reason


def test_allow_downgrade() -> None:
    assert pick("semver:^1;allow-downgrade", ["1.0.0", "1.2.0"], "2.0.0").tag == "1.2.0"


def test_downgrade_rule_follows_descending_order() -> None:
    assert pick("numerical:desc", ["3", "5", "7"], "5").tag == "3"
    assert codes(pick("numerical:desc", ["3", "5", "7"], "5"))["7"] == "below-current"


def test_unorderable_current_does_not_protect() -> None:
    decision = pick("semver:^1", ["1.0.0", "1.2.0"], "latest")
    assert decision.tag == "1.2.0"
    assert "has no place in this ordering" in decision.reason


def test_current_through_extract() -> None:
    policy = "semver:*;filter=^(?P<v>[0-9.]+)-alpine$;extract=$v"
    decision = pick(policy, ["1.2.0-alpine", "1.1.0-alpine"], "1.3.0-alpine")
    assert decision.tag is None


@pytest.mark.parametrize(
    ("tags", "current", "winner"),
    [
        (["v1.2.3", "1.2.3"], None, "1.2.3"),
        (["1.2.3", "v1.2.3"], "v1.2.3", "v1.2.3"),
        (["1.2", "1.2.0"], None, "1.2"),
    ],
)
def test_semver_ties_are_deterministic(tags: list[str], current: str | None, winner: str) -> None:
    assert pick("semver:*", tags, current).tag == winner
    assert pick("semver:*", tags[::-1], current).tag == winner


def test_build_metadata_ties_through_extract() -> None:
    text = "semver:*;filter=^(?P<v>[0-9.]+)_(?P<m>[a-z]+)$;extract=${v}+${m}"
    assert pick(text, ["1.2.3_b", "1.2.3_a"]).tag == "1.2.3_a"
    assert pick(text, ["1.2.3_a", "1.2.3_b"]).tag == "1.2.3_a"


def test_extract_collisions_tie_break() -> None:
    text = "numerical;filter=^b-(?P<n>[0-9]+)-.*$;extract=$n"
    assert pick(text, ["b-5-zz", "b-5-aa", "b-4-aa"]).tag == "b-5-aa"


def test_numerical_fails_on_a_non_number() -> None:
    decision = pick("numerical", ["1", "2", "two"])
    assert decision.failed and decision.tag is None
    assert codes(decision)["two"] == "not-a-number"
    assert "needs numbers" in decision.reason


def test_newest_build_and_min_age() -> None:
    candidates = [
        Candidate("a", NOW - timedelta(days=3)),
        Candidate("b", NOW - timedelta(hours=2)),
        Candidate("c", NOW - timedelta(days=1, seconds=1)),
        Candidate("d"),
    ]
    newest = select_tag(parse_policy("newest-build"), candidates, None, now=NOW)
    assert newest.tag == "b"
    assert codes(newest)["d"] == "no-build-time"
    aged = select_tag(parse_policy("newest-build;min-age=24h"), candidates, None, now=NOW)
    assert aged.tag == "c"
    assert codes(aged)["b"] == "too-young"


def test_min_age_with_semver_and_naive_times() -> None:
    naive = NOW.replace(tzinfo=None)
    candidates = [Candidate("1.0.0", naive - timedelta(days=9)), Candidate("1.1.0", naive)]
    decision = select_tag(parse_policy("semver:^1;min-age=7d"), candidates, None, now=NOW)
    assert decision.tag == "1.0.0"
    assert codes(decision)["1.1.0"] == "too-young"


def test_newest_build_does_not_downgrade() -> None:
    candidates = [Candidate("old", NOW - timedelta(days=3)), Candidate("cur", NOW)]
    assert select_tag(parse_policy("newest-build"), candidates, "cur", now=NOW).tag == "cur"


def test_digest_policy_follows_a_tag() -> None:
    candidates = [Candidate("stable", digest="sha256:" + "a" * 64), Candidate("1.0.0")]
    decision = select_tag(parse_policy("digest:stable"), candidates, "stable")
    assert (decision.tag, decision.digest) == ("stable", "sha256:" + "a" * 64)
    missing = select_tag(parse_policy("digest:edge"), candidates, "stable")
    assert missing.tag is None and "not listed" in missing.reason


def test_winner_digest_is_passed_through() -> None:
    candidates = [Candidate("1.0.0", digest="sha256:1"), Candidate("1.1.0", digest="sha256:2")]
    decision = select_tag(parse_policy("semver:^1;pin-digest"), candidates, None)
    assert decision.digest == "sha256:2"


def test_duplicate_candidates_merge() -> None:
    old, new = NOW - timedelta(days=1), NOW
    candidates = [Candidate("a", old), Candidate("a", new), "a"]
    decision = select_tag(parse_policy("newest-build"), candidates, None, now=NOW)
    assert decision.tag == "a" and decision.considered == 1


def test_empty_tag_list() -> None:
    decision = pick("semver:^1", [])
    assert decision.tag is None and "no tags listed" in decision.reason


def test_refusals_are_plain_values() -> None:
    decision = pick("semver:~1.4", ["1.5.0", "latest", "1.4.3"])
    outside, not_version = decision.refused
    assert outside == Refusal("1.5.0", outside.reason, "out-of-range")
    assert outside.reason.startswith("outside the range '~1.4': \"1.5.0\" does not have")
    assert not_version == Refusal(
        "latest", "'latest' is not a version (Masterminds NewVersion)", "not-a-version"
    )
    same = Refusal(not_version.tag, not_version.reason, not_version.code)
    assert hash(not_version) == hash(same)
    assert repr(not_version).startswith("Refusal(tag='latest', reason=\"'latest' is not")
    assert pickle.loads(pickle.dumps(outside)) == outside
    with pytest.raises(FrozenInstanceError):
        outside.tag = "x"  # type: ignore[misc]


def test_naive_and_aware_build_times_compare() -> None:
    from datetime import UTC, datetime

    from policies import Candidate, parse_policy, select_tag

    naive = datetime(2024, 1, 2, 3, 4, 5)
    aware = datetime(2024, 1, 3, tzinfo=UTC)
    candidates = [Candidate("a", naive), Candidate("a", aware), Candidate("b", naive)]
    decision = select_tag(parse_policy("newest-build"), candidates, None)
    assert decision.tag == "a"
    assert Candidate("x", naive).created == naive.replace(tzinfo=UTC)
