"""The verify= gate: a caller's verifier decides which of the ranked candidates may win."""

from __future__ import annotations

import pytest

from policies import Decision, PolicyError, Refusal, decision_table, parse_policy, select_tag
from policies.verify import MAX_VERIFIED


class Signed:
    """A verifier over a table: tag -> digest when signed; records what it was asked."""

    def __init__(self, *signed: str) -> None:
        self.signed = {tag: f"sha256:{tag.replace('.', '') * 8}"[:71] for tag in signed}
        self.asked: list[str] = []

    def __call__(self, tag: str) -> str | Refusal:
        self.asked.append(tag)
        if tag in self.signed:
            return self.signed[tag]
        return Refusal(tag, "no cosign signature found", "unsigned")


def pick(text: str, tags: list[str], current: str | None, verify: Signed) -> Decision:
    return select_tag(parse_policy(text), tags, current, verify=verify)


def test_the_option_parses_and_names_its_value() -> None:
    assert parse_policy("semver:^1;verify=cosign").verify == "cosign"
    assert parse_policy("semver:^1").verify is None
    with pytest.raises(PolicyError, match="column 18: expected one of cosign"):
        parse_policy("semver:^1;verify=notary")
    with pytest.raises(PolicyError, match="a value: verify=<value>"):
        parse_policy("semver:^1;verify")


def test_a_newer_unsigned_tag_is_refused_and_the_best_signed_one_wins() -> None:
    verify = Signed("1.1.0")
    decision = pick("semver:^1;verify=cosign", ["1.0.0", "1.1.0", "1.2.0"], "1.0.0", verify)
    assert decision.tag == "1.1.0"
    assert decision.digest == verify.signed["1.1.0"]
    assert verify.asked == ["1.2.0", "1.1.0"]
    assert {r.tag: r.code for r in decision.refused} == {"1.2.0": "unsigned", "1.0.0": "not-newest"}
    assert "signature verified (1 better refused by verify=cosign)" in decision.reason
    assert ("1.2.0", "unsigned: no cosign signature found") in decision_table(decision)


def test_never_a_downgrade_to_reach_a_signed_tag() -> None:
    verify = Signed("1.0.0")
    decision = pick("semver:^1;verify=cosign", ["1.0.0", "1.1.0", "1.2.0"], "1.1.0", verify)
    assert decision.tag is None
    assert verify.asked == ["1.2.0", "1.1.0"]  # 1.0.0 orders below the current tag
    assert "passes verify=cosign" in decision.reason
    assert "2 unsigned" in decision.reason and "1 below-current" in decision.reason
    assert decision.reason.endswith("; 1.2.0: no cosign signature found")
    assert not decision.failed


def test_the_checks_are_bounded_and_the_rest_are_unverified() -> None:
    tags = [f"1.{i}.0" for i in range(MAX_VERIFIED + 5)]
    verify = Signed()
    decision = pick("semver:^1;verify=cosign", tags, None, verify)
    assert decision.tag is None
    assert len(verify.asked) == MAX_VERIFIED
    codes = [r.code for r in decision.refused]
    assert codes.count("unsigned") == MAX_VERIFIED and codes.count("unverified") == 5


def test_without_the_option_the_verifier_is_never_asked() -> None:
    verify = Signed()
    assert pick("semver:^1", ["1.0.0", "1.1.0"], None, verify).tag == "1.1.0"
    assert verify.asked == []


def test_the_option_without_a_verifier_fails_closed() -> None:
    decision = select_tag(parse_policy("semver:^1;verify=cosign"), ["1.0.0"], None)
    assert decision.tag is None and decision.failed
    assert "no verifier was given" in decision.reason


def test_a_followed_tag_is_verified_too() -> None:
    signed = pick("digest:stable;verify=cosign", ["stable"], "stable", Signed("stable"))
    assert signed.tag == "stable" and signed.digest is not None
    refused = pick("digest:stable;verify=cosign", ["stable"], "stable", Signed())
    assert refused.tag is None
    assert refused.reason == "tag stable: no cosign signature found"


def test_the_referrers_fallback_tag_is_never_a_candidate() -> None:
    fallback = "sha256-" + "ab" * 32
    decision = select_tag(parse_policy("alphabetical"), ["1.0", fallback, fallback + ".sig"], None)
    assert decision.tag == "1.0"
    assert {r.tag: r.code for r in decision.refused} == {
        fallback: "cosign",
        fallback + ".sig": "cosign",
    }
