"""The options Flux objects translate into: exclude= (exclusionList), reflect-digest=
(digestReflectionPolicy), and the Flux v1 rules behind flux_v1=True."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies import Candidate, PolicyError, parse_policy, select_tag

BUILT = datetime(2024, 1, 1, tzinfo=UTC)


def test_exclude_is_repeatable_and_searches_anywhere_in_the_tag() -> None:
    policy = parse_policy(r"semver:*;exclude=-rc;exclude=^9\.")
    decision = select_tag(policy, ["1.0.0", "1.1.0-rc", "9.0.0"], None)
    assert decision.tag == "1.0.0"
    assert {r.tag: r.reason for r in decision.refused if r.code == "ignored"} == {
        "1.1.0-rc": "matches exclude=-rc",
        "9.0.0": r"matches exclude=^9\.",
    }


@pytest.mark.parametrize(
    ("text", "mode", "pin"),
    [
        ("semver:*;reflect-digest=never", "never", False),
        ("semver:*;reflect-digest=if-not-present", "if-not-present", False),
        ("semver:*;reflect-digest=always", "always", True),
    ],
)
def test_reflect_digest(text: str, mode: str, pin: bool) -> None:
    policy = parse_policy(text)
    assert (policy.reflect_digest, policy.pin_digest) == (mode, pin)


@pytest.mark.parametrize(
    "text", ["semver:*;reflect-digest=sometimes", "semver:*;exclude=(", "semver:*;reflect-digest"]
)
def test_bad_flux_options_are_refused(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_policy(text)


@pytest.mark.parametrize("pattern", ["*", "glob:*", "regexp:.*"])
def test_fluxd_never_picks_latest_unless_asked(pattern: str) -> None:
    newest = datetime(2025, 1, 1, tzinfo=UTC)
    listed = [Candidate("latest", newest), Candidate("LATEST", newest), Candidate("v1", BUILT)]
    decision = select_tag(parse_policy(pattern, flux_v1=True), listed, None)
    assert decision.tag == "v1"
    assert {r.tag for r in decision.refused if r.code == "ignored"} == {"latest", "LATEST"}


def test_the_pattern_latest_picks_latest() -> None:
    listed = [Candidate("latest", BUILT), Candidate("v1", BUILT)]
    assert select_tag(parse_policy("latest", flux_v1=True), listed, None).tag == "latest"


def test_without_flux_v1_latest_is_an_ordinary_tag() -> None:
    newest = datetime(2025, 1, 1, tzinfo=UTC)
    listed = [Candidate("latest", newest), Candidate("v1", BUILT)]
    assert select_tag(parse_policy("glob:*;order=newest-build"), listed, None).tag == "latest"


def test_fluxd_holds_when_the_current_build_time_is_unknown() -> None:
    listed = [Candidate("v1"), Candidate("v2", BUILT)]
    decision = select_tag(parse_policy("glob:*", flux_v1=True), listed, "v1")
    assert decision.tag is None and not decision.failed
    assert "fluxd leaves the workload alone" in decision.reason
    known = [Candidate("v1", datetime(2023, 1, 1, tzinfo=UTC)), Candidate("v2", BUILT)]
    assert select_tag(parse_policy("glob:*", flux_v1=True), known, "v1").tag == "v2"
    semver = select_tag(parse_policy("semver:*", flux_v1=True), ["1.0.0", "1.1.0"], "1.0.0")
    assert semver.tag == "1.1.0"  # semver orders by version: build times do not matter
