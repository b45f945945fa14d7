"""Resolve Sites against what registries hold and decide the Changes.

``build_plan`` asks the policy of every Site which tag should run and turns each
answer into a Change, or a Skip with its reason. What registries hold reaches it
through a ``Catalog`` (the seam: the engine passes one backed by the registry
client, tests pass a table), so the decisions themselves do no I/O. The plan
decides; the write stage applies (``automator.write``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import policies
from automator.errors import AutomatorError, ReferenceError_
from automator.model import Change, Part, Plan, Site, Skip
from automator.reference import ImageRef


class Catalog(Protocol):
    """What the registries hold, as the plan needs it."""

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None
    ) -> Sequence[policies.Candidate] | AutomatorError:
        """The repository's tags; with ``created``, each with its build time where known."""

    def digest(self, image: ImageRef, tag: str) -> str:
        """The digest ``tag`` points at now; raises AutomatorError."""


class Signatures(Protocol):
    """The gate of ``verify=`` policies (``automator.signatures.CosignVerifier``)."""

    def gate(self, image: ImageRef) -> policies.Verify:
        """For a tag of ``image``: the digest whose signature passed, or the Refusal.

        Raises AutomatorError when the registry could not be read to decide."""


def build_plan(
    sites: Sequence[Site],
    catalog: Catalog,
    *,
    skipped: Sequence[Skip] = (),
    signatures: Signatures | None = None,
) -> Plan:
    """Decide a Change for every Site whose policy picks another tag.

    The plan only decides; the write stage (``automator.write.splice``) makes the edits.
    """
    changes: list[Change] = []
    skips = list(skipped)
    for site in sites:
        outcome = decide(site, catalog, signatures)
        if isinstance(outcome, Change):
            changes.append(outcome)
        elif outcome is not None:
            skips.append(outcome)
    return Plan(changes=tuple(changes), skipped=tuple(skips), sites=len(sites))


def decide(
    site: Site, catalog: Catalog, signatures: Signatures | None = None
) -> Change | Skip | None:
    """The Change ``site``'s policy asks for, a Skip saying why not, or None if current.

    A ``verify=`` policy adopts only what ``signatures`` passes, and pins (when it pins)
    the very digest whose signature was checked."""
    try:
        policy = policies.parse_policy(site.policy, flux_v1=site.origin == "flux-v1")
    except policies.PolicyError as exc:
        return Skip(site.where, f"policy {site.policy!r}: {exc}", True)
    found = catalog.candidates(site.image, created=policy.needs_created, platform=policy.platform)
    if isinstance(found, AutomatorError):
        return Skip(site.where, str(found), True)
    gate = signatures.gate(site.image) if signatures and policy.verify else None
    try:
        decision = policies.select_tag(policy, found, site.image.tag, verify=gate)
    except AutomatorError as exc:  # the signature gate: no trust configured, registry down
        return Skip(site.where, str(exc), True)
    if decision.tag is None:
        return Skip(site.where, f"{site.image.name}: {decision.reason}", decision.failed)
    digest = None
    if policy.pin_digest or site.image.digest is not None or site.part is Part.DIGEST:
        digest = decision.digest if gate is not None else None
        try:
            digest = digest or catalog.digest(site.image, decision.tag)
        except AutomatorError as exc:
            return Skip(site.where, str(exc), True)
    if decision.tag == site.image.tag and digest == site.image.digest:
        return None
    try:
        image = site.image.with_tag(decision.tag, digest)
    except ReferenceError_ as exc:
        return Skip(site.where, str(exc), True)
    new = _new_value(site, image)
    if new == site.value:
        return None
    return Change(site, site.value, new, image, decision.reason)


def _new_value(site: Site, image: ImageRef) -> str:
    if site.part is Part.TAG:
        tag = image.tag or ""
        return f"{tag}@{image.digest}" if image.digest and "@" in site.value else tag
    if site.part is Part.DIGEST:
        return image.digest or ""
    if site.part is Part.NAME:
        return image.name
    return str(image)
