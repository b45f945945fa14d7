"""Resolve Sites against what registries hold and decide the Changes.

``build_plan`` asks the policy of every Site which tag should run and turns each
answer into a Change, or a Skip with its reason. What registries hold reaches it
through a ``Catalog`` (the seam: the engine passes one backed by the registry
client, tests pass a table), so the decisions themselves do no I/O. The plan
decides; the write stage applies (``automator.write``). When tags were first seen
(``age-from=first-seen``) reaches it through the ``FirstSeen`` seam the same way.

A little over 300 lines: images, chart versions and the first-seen age are decided
here side by side, as they share the Skip and Change wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import policies
from automator.charts.lockchanges import lock_changes
from automator.errors import AutomatorError, IncompleteListing, ReferenceError_
from automator.manifests import policy_problem
from automator.model import Change, ChartSource, Hold, Part, Plan, Site, Skip
from automator.reference import ImageRef
from policies.prefix import literal_prefix


class Catalog(Protocol):
    """What the registries hold, as the plan needs it."""

    def candidates(
        self,
        image: ImageRef,
        *,
        created: bool,
        platform: str | None,
        wanted: Callable[[str], bool] | None = None,
        current: str | None = None,
        prefix: str = "",
    ) -> Sequence[policies.Candidate] | AutomatorError:
        """The repository's tags; with ``created``, each with its build time where known.

        Build times are worth reading only for tags ``wanted`` admits, ``current`` first.

        With ``prefix``, at least every tag that starts with it (asked only after an
        ``IncompleteListing``, for a policy that can only pick such tags).
        """

    def digest(self, image: ImageRef, tag: str) -> str:
        """The digest ``tag`` points at now; raises AutomatorError."""


class Signatures(Protocol):
    """The gate of ``verify=`` policies (``automator.signatures.CosignVerifier``)."""

    def gate(self, image: ImageRef) -> policies.Verify:
        """For a tag of ``image``: the digest whose signature passed, or the Refusal.

        Raises AutomatorError when the registry could not be read to decide."""


class Charts(Protocol):
    """The versions Helm chart repositories list (``automator.charts.ChartCatalog``)."""

    def candidates(self, source: ChartSource) -> Sequence[policies.Candidate] | AutomatorError:
        """Every version of ``source``'s chart, or the error that kept it from being read."""


class FirstSeen(Protocol):
    """When automator first saw tags, for ``age-from=first-seen`` (``automator.firstseen``)."""

    def seen(self, image: ImageRef) -> Mapping[str, datetime]:
        """When each recorded tag of ``image``'s repository was first seen."""

    def note(self, image: ImageRef, tags: Sequence[str]) -> None:
        """``tags`` would be taken were age no matter: the ones to record."""


def build_plan(
    sites: Sequence[Site],
    catalog: Catalog,
    *,
    skipped: Sequence[Skip] = (),
    signatures: Signatures | None = None,
    charts: Charts | None = None,
    first_seen: FirstSeen | None = None,
    now: datetime | None = None,
    age_from: str = "build",
) -> Plan:
    """Decide a Change for every Site whose policy picks another tag.

    ``min-age`` is measured at ``now`` (default: the clock), from build times or, for
    ``age-from=first-seen`` (``age_from``: the default for policies that do not say),
    from ``first_seen``; without it, every tag counts as seen now (too young).
    The plan only decides; the write stage (``automator.write.splice``) makes the edits.
    """
    changes: list[Change] = []
    current: list[Site] = []
    skips = list(skipped)
    for site in sites:
        if site.hold is not None:  # a person's decision comes first, for charts too
            outcome: Change | Skip | None = held(site, site.hold)
        elif site.chart:
            outcome = decide_chart(site, charts)
        else:
            outcome = decide(site, catalog, signatures, first_seen, now=now, age_from=age_from)
        if isinstance(outcome, Change):
            changes.append(outcome)
        elif outcome is None:
            current.append(site)
        else:
            skips.append(replace(outcome, site=site))
    changes.extend(lock_changes(changes))  # Chart.lock entries move with their Chart.yaml
    return Plan(
        changes=tuple(changes), skipped=tuple(skips), sites=len(sites), current=tuple(current)
    )


def decide(
    site: Site,
    catalog: Catalog,
    signatures: Signatures | None = None,
    first_seen: FirstSeen | None = None,
    *,
    now: datetime | None = None,
    age_from: str = "build",
) -> Change | Skip | None:
    """The Change ``site``'s policy asks for, a Skip saying why not, or None if current.

    A ``verify=`` policy adopts only what ``signatures`` passes, and pins (when it pins)
    the very digest whose signature was checked. A held Site is left alone, unasked."""
    if site.hold is not None:
        return held(site, site.hold)
    try:
        policy = policies.parse_policy(
            site.policy, flux_v1=site.origin == "flux-v1", age_from=age_from
        )
    except policies.PolicyError as exc:
        return Skip(site.where, policy_problem(site.policy, exc), True)
    promo = site.promotion
    if promo is not None and (promo.problem or not promo.ready):
        if promo.problem:
            return Skip(site.where, f"{site.image.name}: promote-from {promo.problem}", True)
        return Skip(site.where, f"{site.image.name}: {promo.tag} in soak: {promo.chain()}")
    current, wanted = site.image.tag, policies.admitter(policy)
    found = catalog.candidates(
        site.image,
        created=policy.needs_created,
        platform=policy.platform,
        wanted=wanted,
        current=current,
    )
    if isinstance(found, IncompleteListing) and (prefix := literal_prefix(policy)):
        # the policy can only pick tags with this prefix: a listing of those is whole enough
        found = catalog.candidates(
            site.image,
            created=policy.needs_created,
            platform=policy.platform,
            wanted=wanted,
            current=current,
            prefix=prefix,
        )
    if isinstance(found, AutomatorError):
        return Skip(site.where, str(found), True)
    if promo is not None:  # only the promoted tag, if the Site's own policy admits it
        found = [c for c in found if c.tag == promo.tag]
    if _current_time_unknown(policy, found, current, wanted):
        return Skip(
            site.where,
            f"{site.image.name}: the build time of the current tag {current} could not be"
            " read, so newest-build cannot tell newer from older; left alone"
            + (" as fluxd leaves the workload alone (Flux v1)" if policy.fluxd else "")
            + f" (automator explain {site.image.name}:{current} --policy '{site.policy}'"
            " says why)",
        )
    gate = signatures.gate(site.image) if signatures and policy.verify else None
    seen = _seen(site, policy, found, first_seen)
    try:
        decision = policies.select_tag(
            policy, found, current, now=now, verify=gate, seen=seen.times if seen else None
        )
    except AutomatorError as exc:  # the signature gate: no trust configured, registry down
        return Skip(site.where, str(exc), True)
    chain = f"; promoted: {promo.chain()}" if promo is not None else ""
    if seen is not None and decision.tag in (None, current) and (wait := _waits(decision, seen)):
        return Skip(site.where, f"{site.image.name}: {wait.tag} waits: {wait.reason}{chain}")
    if decision.tag is None:
        return Skip(site.where, f"{site.image.name}: {decision.reason}{chain}", decision.failed)
    verified = decision.digest if gate is not None else None
    digest = _digest(site, policy, decision.tag, catalog, verified)
    if isinstance(digest, Skip):
        return digest
    flux = site.origin == "imagepolicy"  # Flux writes the ImagePolicy's result, whatever is there
    if not flux and decision.tag == site.image.tag and digest == site.image.digest:
        return None
    try:
        image = site.image.with_tag(decision.tag, digest)
    except ReferenceError_ as exc:
        return Skip(site.where, str(exc), True)
    new = _flux_value(site, image) if flux else site.prefix + _new_value(site, image)
    if new == site.value:
        return None
    return Change(site, site.value, new, image, decision.reason + chain)


@dataclass(frozen=True, slots=True)
class _Seen:
    times: Mapping[str, datetime]  # when each recorded tag was first seen
    awaiting: tuple[str, ...]  # the tags that would be eligible were age no matter, best first


def _seen(
    site: Site,
    policy: policies.Policy,
    found: Sequence[policies.Candidate],
    first_seen: FirstSeen | None,
) -> _Seen | None:
    """For a first-seen ``min-age``: the recorded times, after noting the tags to record.

    Without a record (``first_seen`` None) every tag counts as seen now: too young."""
    if policy.min_age is None or policy.age_from != "first-seen":
        return None
    awaiting = policies.awaiting_age(policy, found, site.image.tag)
    if first_seen is None:
        return _Seen({}, awaiting)
    first_seen.note(site.image, awaiting)
    return _Seen(first_seen.seen(site.image), awaiting)


def _waits(decision: policies.Decision, seen: _Seen) -> policies.Refusal | None:
    """The best tag that would have been taken but is too young since first seen."""
    young = {r.tag: r for r in decision.refused if r.code == "too-young"}
    return next((young[tag] for tag in seen.awaiting if tag in young), None)


def held(site: Site, hold: Hold) -> Skip:
    """The Skip of a Site a person holds, naming the hold and where it was set."""
    at = site.image.tag or site.image.digest or site.value
    return Skip(site.where, f"{site.image.name}: held at {at} by {hold.by}: {hold.reason}",
                hold=hold)  # fmt: skip


def decide_chart(site: Site, charts: Charts | None) -> Change | Skip | None:
    """What ``site``'s policy picks among its chart's versions (a HelmRelease version)."""
    assert site.chart is not None
    try:
        policy = policies.parse_policy(site.policy)
    except policies.PolicyError as exc:
        return Skip(site.where, policy_problem(site.policy, exc), True)
    if policy.kind == "digest" or policy.pin_digest or policy.verify or policy.platform:
        why = "digest:, pin-digest, verify= and platform= are for images, not chart versions"
        return Skip(site.where, f"{site.image.name}: {why}", True)
    if policy.min_age is not None and policy.age_from == "first-seen":  # never recorded
        why = "age-from=first-seen is for images; a chart version's min-age counts from its build"
        return Skip(site.where, f"{site.image.name}: {why}", True)
    found = charts.candidates(site.chart) if charts is not None else None
    if found is None:
        return Skip(site.where, f"{site.image.name}: chart repositories are not read here", True)
    if isinstance(found, AutomatorError):
        return Skip(site.where, str(found), True)
    decision = policies.select_tag(policy, found, site.value)
    if decision.tag is None:
        return Skip(site.where, f"{site.image.name}: {decision.reason}", decision.failed)
    if decision.tag == site.value:
        return None
    image = replace(site.image, tag=decision.tag)
    return Change(site, site.value, decision.tag, image, decision.reason)


def _current_time_unknown(
    policy: policies.Policy,
    found: Sequence[policies.Candidate],
    current: str | None,
    wanted: Callable[[str], bool],
) -> bool:
    """Whether ordering by build time could move the workload backwards (Flux v1 leaves it).

    Only when the current tag would take part in the ordering (it passes the filter)
    and its build time is unknown (not listed, or unreadable).
    """
    if policy.order != "newest-build" or policy.allow_downgrade or current is None:
        return False
    if not wanted(current):
        return False
    return all(c.created is None for c in found if c.tag == current)


def _digest(
    site: Site, policy: policies.Policy, tag: str, catalog: Catalog, verified: str | None = None
) -> str | Skip | None:
    """The digest to write with ``tag``, as the policy's digest reflection says.

    ``verified`` is the digest whose signature the gate checked: it is the one written.

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
        return verified or catalog.digest(site.image, tag)
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
