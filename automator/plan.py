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


def build_plan(sites: Sequence[Site], catalog: Catalog, *, skipped: Sequence[Skip] = ()) -> Plan:
    """Decide a Change for every Site whose policy picks another tag.

    The plan only decides; the write stage (``automator.write.splice``) makes the edits.
    """
    changes: list[Change] = []
    skips = list(skipped)
    for site in sites:
        outcome = decide(site, catalog)
        if isinstance(outcome, Change):
            changes.append(outcome)
        elif outcome is not None:
            skips.append(outcome)
    return Plan(changes=tuple(changes), skipped=tuple(skips), sites=len(sites))


def decide(site: Site, catalog: Catalog) -> Change | Skip | None:
    """The Change ``site``'s policy asks for, a Skip saying why not, or None if current."""
    try:
        policy = policies.parse_policy(site.policy, flux_v1=site.origin == "flux-v1")
    except policies.PolicyError as exc:
        return Skip(site.where, f"policy {site.policy!r}: {exc}", True)
    found = catalog.candidates(site.image, created=policy.needs_created, platform=policy.platform)
    if isinstance(found, AutomatorError):
        return Skip(site.where, str(found), True)
    decision = policies.select_tag(policy, found, site.image.tag)
    if decision.tag is None:
        return Skip(site.where, f"{site.image.name}: {decision.reason}", decision.failed)
    digest = _digest(site, policy, decision.tag, catalog)
    if isinstance(digest, Skip):
        return digest
    flux = site.origin == "imagepolicy"  # Flux writes the ImagePolicy's result, whatever is there
    if not flux and decision.tag == site.image.tag and digest == site.image.digest:
        return None
    try:
        image = site.image.with_tag(decision.tag, digest)
    except ReferenceError_ as exc:
        return Skip(site.where, str(exc), True)
    new = _flux_value(site, image) if flux else _new_value(site, image)
    if new == site.value:
        return None
    return Change(site, site.value, new, image, decision.reason)


def _digest(site: Site, policy: policies.Policy, tag: str, catalog: Catalog) -> str | Skip | None:
    """The digest to write with ``tag``, as the policy's digest reflection says.

    ``never`` drops a digest the field holds; ``if-not-present`` keeps the one written
    while the tag stays (a re-pushed tag does not move it); ``always`` (or ``pin-digest``)
    resolves it every time. Without a reflection mode a digest the field already holds
    is kept current.
    """
    mode = policy.reflect_digest
    if site.origin == "imagepolicy" and site.part in (Part.TAG, Part.NAME):
        return None  # Flux's :tag and :name setters never write a digest: none to look up
    if mode == "never":
        if site.part is Part.DIGEST:
            return Skip(site.where, "a :digest marker needs digestReflectionPolicy IfNotPresent"
                        " or Always on its ImagePolicy", True)  # fmt: skip
        return None
    if mode == "if-not-present" and site.image.digest is not None and tag == site.image.tag:
        return site.image.digest
    wanted = mode is not None or policy.pin_digest or site.image.digest is not None
    if not wanted and site.part is not Part.DIGEST:
        return None
    try:
        return catalog.digest(site.image, tag)
    except AutomatorError as exc:
        return Skip(site.where, str(exc), True)


def _flux_value(site: Site, image: ImageRef) -> str:
    """What Flux's setter writes: the whole ``name:tag[@digest]``, or just the part named."""
    if site.part is Part.TAG:
        return image.tag or ""
    if site.part is Part.DIGEST:
        return image.digest or ""
    if site.part is Part.NAME:
        return image.name
    return str(image)


def _new_value(site: Site, image: ImageRef) -> str:
    if site.part is Part.TAG:
        tag = image.tag or ""
        return f"{tag}@{image.digest}" if image.digest and "@" in site.value else tag
    if site.part is Part.DIGEST:
        return image.digest or ""
    if site.part is Part.NAME:
        return image.name
    return str(image)
