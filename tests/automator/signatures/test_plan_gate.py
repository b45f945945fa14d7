"""The plan and the signature gate: what it passes is pinned, what fails is a Skip."""

from __future__ import annotations

from collections.abc import Sequence

import policies
from automator.errors import AutomatorError, RegistryError
from automator.model import Change, Part, Site, Skip
from automator.plan import decide
from automator.reference import ImageRef, parse_reference

MOVED = "sha256:" + "cd" * 32  # what the tag points at now, after the check
SIGNED = "sha256:" + "ab" * 32  # what the gate checked


class Table:
    def __init__(self, tags: list[str]) -> None:
        self.tags = tags

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None, **_: object
    ) -> Sequence[policies.Candidate] | AutomatorError:
        return [policies.Candidate(tag) for tag in self.tags]

    def digest(self, image: ImageRef, tag: str) -> str:
        return MOVED


class Gate:
    """Signs one tag; or fails like a registry that cannot be read."""

    def __init__(self, signed: str | None, error: AutomatorError | None = None) -> None:
        self.signed, self.error = signed, error
        self.images: list[str] = []

    def gate(self, image: ImageRef) -> policies.Verify:
        self.images.append(str(image))

        def verify(tag: str) -> str | policies.Refusal:
            if self.error is not None:
                raise self.error
            return SIGNED if tag == self.signed else policies.Refusal(tag, "unsigned", "unsigned")

        return verify


def site(policy: str, image: str = "reg.test/acme/api:1.0.0") -> Site:
    return Site(
        file="apps/api.yaml",
        line=1,
        start=0,
        end=len(image),
        part=Part.REFERENCE,
        value=image,
        image=parse_reference(image),
        policy=policy,
        origin="annotation",
    )


TAGS = ["1.0.0", "1.1.0", "1.2.0"]


def test_the_digest_pinned_is_the_one_whose_signature_was_checked() -> None:
    outcome = decide(site("semver:^1;verify=cosign;pin-digest"), Table(TAGS), Gate(signed="1.1.0"))
    assert isinstance(outcome, Change)
    assert outcome.new == f"reg.test/acme/api:1.1.0@{SIGNED}"


def test_a_registry_failure_in_the_gate_is_an_error_skip_not_a_lesser_tag() -> None:
    failing = Gate("1.1.0", RegistryError("reg.test/acme/api: HTTP 503", transient=True))
    outcome = decide(site("semver:^1;verify=cosign"), Table(TAGS), failing)
    assert outcome == Skip("apps/api.yaml:1", "reg.test/acme/api: HTTP 503", True)


def test_the_gate_is_asked_only_by_verify_policies() -> None:
    gate = Gate(signed=None)
    outcome = decide(site("semver:^1"), Table(TAGS), gate)
    assert isinstance(outcome, Change) and outcome.new.endswith(":1.2.0")
    assert gate.images == []


def test_a_verify_policy_without_a_gate_fails_closed() -> None:
    outcome = decide(site("semver:^1;verify=cosign"), Table(TAGS))
    assert isinstance(outcome, Skip) and outcome.error
    assert "no verifier was given" in outcome.reason
