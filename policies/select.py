"""Selecting the tag a workload should run: ``select_tag(policy, candidates, current)``.

Each candidate goes through the same steps, and the first that refuses it names why:
valid OCI tag (at most 128 characters) -> not a cosign artefact (``*.sig``, ``*.att``,
``*.sbom``, the referrers fallback tag ``sha256-<hex>``) -> the ``regex:``/``glob:``
selection -> ``filter=`` (and ``extract=``) -> ``ignore=`` globs -> a key under the
policy's ordering (a version, a number, a build time; under ``semver:`` only the current
tag's variant, ``policies.variants``) -> the semver range ->
``min-age`` -> not below the current tag -> with ``verify=``, the caller's verifier
(``verify``), asked of the best candidates in order.

The ``verify=`` gate and its bounds are described in ``policies.verify``; its hooks stay
here, beside the steps they follow, as does the current tag's variant; so this module is
over 300 lines.

Never a downgrade: a candidate whose key orders below the current tag's key (same
filter, extraction and ordering) is refused unless ``allow-downgrade``. When the
current tag has no key (``latest`` under a semver policy) nothing protects it. The
current tag itself is a valid winner: then the decision is "already newest".

Ties (equal keys: ``v1.2.3`` and ``1.2.3``, ``1.2.3+a`` and ``1.2.3+b``, two tags that
extract the same value, equal build times) are broken deterministically, whatever
the input order (Flux keeps the first seen; Argo the lexically greatest):

1. the tag equal to the current tag (no churn between spellings);
2. a tag without build metadata before one with it;
3. the lexically smallest tag.

Flux's numerical ordering fails as a whole when any candidate that passed the
filters is not a number (Go ``ParseFloat`` syntax; we also refuse NaN and hex
floats); the decision then has ``failed=True`` and no winner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

from policies.age import Seen, too_young
from policies.decision import Candidate, Decision, Refusal, Verify, refusal
from policies.errors import VersionError
from policies.filters import (
    MAX_TAG_CHARS,
    PatternClock,
    PatternTooSlow,
    compile_template,
    is_cosign_artefact,
    tag_problem,
)
from policies.keys import Key, keyer
from policies.policy import Policy
from policies.semver import parse_flux, parse_version
from policies.variants import Variant, read_variant, variant_note
from policies.verify import Ranked, gate

_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_BEST: Final = {
    ("semver", False): "highest version",
    ("alphabetical", False): "last tag alphabetically",
    ("alphabetical", True): "first tag alphabetically",
    ("numerical", False): "largest number",
    ("numerical", True): "smallest number",
    ("newest-build", False): "newest build",
}
_COSIGN: Final = "cosign signature, attestation or SBOM tag, or an OCI referrers fallback tag"
_FLUXD_LATEST: Final = "latest is picked only by the pattern 'latest' (Flux v1)"

Known = tuple[datetime | None, str | None]  # what we know of a tag: build time, digest
_UNKNOWN: Final[Known] = (None, None)


def select_tag(
    policy: Policy,
    candidates: Iterable[Candidate | str],
    current: str | None,
    *,
    now: datetime | None = None,
    verify: Verify | None = None,
    seen: Seen | None = None,
) -> Decision:
    """Pick the tag to run under ``policy``; explain every tag that did not win.

    ``now`` (default: the clock) only matters for ``min-age``; pass it for repeatable
    results. ``verify`` is the gate a ``verify=`` policy needs (ignored without one).
    ``seen`` is when each tag was first seen, for ``min-age`` with ``age-from=first-seen``
    (``policies.age``): a tag missing from it counts as seen now.
    """
    listed = _merge(candidates)
    if policy.verify is not None and verify is None:
        reason = f"the policy says verify={policy.verify}, and no verifier was given"
        return Decision(None, reason, (), current, len(listed), failed=True)
    gate = verify if policy.verify is not None else None
    if policy.kind == "digest":
        return _follow(policy, listed, current, gate)
    try:
        return _select(policy, listed, current, now, PatternClock(), gate, seen)
    except PatternTooSlow as slow:
        reason = (
            f"pattern {slow.pattern[:80]!r} ran past its time bound on tag {slow.tag[:40]!r};"
            " simplify the pattern"
        )
        return Decision(None, reason, (), current, len(listed), failed=True)


def _select(
    policy: Policy,
    listed: dict[str, Known],
    current: str | None,
    now: datetime | None,
    clock: PatternClock,
    verify: Verify | None,
    seen: Seen | None = None,
) -> Decision:
    admit = _admitter(policy, clock)
    family = _family(policy, current)
    key_of = keyer(policy, family)
    needs_created = policy.needs_created
    now = now or datetime.now(UTC)
    fluxd_builds = policy.fluxd and policy.order == "newest-build"
    if fluxd_builds and current is not None and listed.get(current, _UNKNOWN)[0] is None:
        reason = (
            f"the build time of the current tag {current} is unknown; fluxd leaves the"
            " workload alone (Flux v1)"
        )
        return Decision(None, reason, (), current, len(listed))
    # One entry per tag in tag order; None for a ranked tag until _decide refuses it.
    places: list[Refusal | None] = []
    ranked: list[Ranked] = []
    failed: Refusal | None = None
    for tag in sorted(listed):
        value = admit(tag)
        if isinstance(value, Refusal):
            places.append(value)
            continue
        created = listed[tag][0] if needs_created else None
        keyed = key_of(value, tag, created)
        if isinstance(keyed, Refusal):
            places.append(keyed)
            failed = failed or (keyed if keyed.code == "not-a-number" else None)
        elif policy.min_age is not None and (
            young := too_young(policy, tag, created, now, seen, current)
        ):
            places.append(young)
        else:
            ranked.append((keyed[0], tag, keyed[1], len(places)))
            places.append(None)
    if failed is not None:
        reason = f"{policy.kind} ordering needs numbers, and {failed.tag!r} is not one; narrow "
        reason += "the tags with filter=/extract="
        refused = tuple(filter(None, places))
        return Decision(None, reason, refused, current, len(listed), failed=True)
    return _decide(policy, ranked, places, current, listed, verify, family)


def _family(policy: Policy, current: str | None) -> Variant | None:
    """The current tag's variant, when the policy keeps variants and the tag reads as one."""
    if not policy.variants or current is None or tag_problem(current) is not None:
        return None
    value = extracted(policy, current)
    return None if value is None else read_variant(value)


def _merge(candidates: Iterable[Candidate | str]) -> dict[str, Known]:
    """What is known per tag, independent of input order (newest time, least digest)."""
    out: dict[str, Known] = {}
    for item in candidates:
        if isinstance(item, str):
            out.setdefault(item, _UNKNOWN)
            continue
        known = (item.created, item.digest)
        seen = out.setdefault(item.tag, known)
        if seen != known:
            times = [t for t in (seen[0], item.created) if t is not None]
            digests = [d for d in (seen[1], item.digest) if d is not None]
            out[item.tag] = (max(times, default=None), min(digests, default=None))
    return out


def _admitter(policy: Policy, clock: PatternClock) -> Callable[[str], str | Refusal]:
    """For each tag, the value to order it by (extracted or the tag) or why it is refused."""
    plain = policy.match is None and policy.filter is None
    value_of = _extractor(policy, clock)
    unselected = f"does not match {_selection(policy)}"
    ignores = [
        (clock.bind(p.fullmatch), f"matches ignore={g}")
        for g, p in zip(policy.ignore, policy.ignore_patterns, strict=True)
    ]
    valid = _TAG.fullmatch
    excludes = [(clock.bind(p.search), f"matches exclude={p.pattern}") for p in policy.exclude]
    no_latest = policy.fluxd and policy.text.strip() != "glob:latest"

    def admit(tag: str) -> str | Refusal:
        if len(tag) > MAX_TAG_CHARS or not valid(tag):
            return refusal(tag, "invalid-tag", tag, _invalid)
        if is_cosign_artefact(tag):
            return refusal(tag, "cosign", _COSIGN)
        for excluded, why in excludes:
            if excluded(tag):
                return refusal(tag, "ignored", why)
        if no_latest and tag.lower() == "latest":
            return refusal(tag, "ignored", _FLUXD_LATEST)
        value = tag if plain else value_of(tag)
        if value is None:
            return refusal(tag, "filtered", unselected)
        for ignored, why in ignores:
            if ignored(tag):
                return refusal(tag, "ignored", why)
        return value

    return admit


def awaiting_age(
    policy: Policy, candidates: Iterable[Candidate | str], current: str | None
) -> tuple[str, ...]:
    """The tags whose first-seen time a ``min-age`` policy needs: those that would be eligible
    (filter, range, ordering, not below ``current``) were age no matter, the one that would
    win first, then the others sorted; ``current`` excluded.
    """
    if policy.min_age is None or policy.kind == "digest":
        return ()
    free = select_tag(replace(policy, min_age=None, verify=None), candidates, current)
    rest = sorted({r.tag for r in free.refused if r.code == "not-newest"} - {current})
    best = [free.tag] if free.tag is not None and free.tag != current else []
    return (*best, *rest)


def admitter(policy: Policy) -> Callable[[str], bool]:
    """A test of whether a tag passes ``policy``'s selection, ``filter=`` and ``ignore=``.

    What a caller uses to spend a budget (build-time reads) only on tags that can win;
    a pattern past its time bound counts as not admitted.
    """
    admit = _admitter(policy, PatternClock())

    def admits(tag: str) -> bool:
        try:
            return not isinstance(admit(tag), Refusal)
        except PatternTooSlow:
            return False

    return admits


def _invalid(tag: str) -> str:
    return tag_problem(tag) or "not a valid tag"


def extracted(policy: Policy, tag: str) -> str | None:
    """What ``policy`` orders ``tag`` by, or None when its selection or filter refuses it."""
    return _extractor(policy, PatternClock())(tag)


def _extractor(policy: Policy, clock: PatternClock) -> Callable[[str], str | None]:
    select = policy.match
    if select is not None:
        find = clock.bind(select.search if policy.kind == "regex" else select.fullmatch)
    search = clock.bind(policy.filter.search) if policy.filter is not None else None
    template = compile_template(policy.extract) if policy.extract is not None else None

    def value_of(tag: str) -> str | None:
        m = None
        if select is not None:
            m = find(tag)
            if m is None:
                return None
        if search is not None:
            m = search(tag)
            if m is None:
                return None
        if template is None or m is None:
            return tag
        return template(m)

    return value_of


def _selection(policy: Policy) -> str:
    parts = []
    if policy.match is not None:
        parts.append(f"{policy.kind}:{policy.match.pattern}")
    if policy.filter is not None:
        parts.append(f"filter={policy.filter.pattern}")
    return " and ".join(parts)


def _current_key(
    policy: Policy, current: str | None, listed: dict[str, Known], family: Variant | None
) -> Key | None:
    if family is not None:
        return family.key
    if current is None or tag_problem(current) is not None:
        return None
    value = extracted(policy, current)
    if value is None:
        return None
    if policy.order == "semver":
        try:
            return (parse_flux if policy.strict else parse_version)(value).key
        except VersionError:
            return None
    keyed = keyer(policy)(value, current, listed.get(current, _UNKNOWN)[0])
    return None if isinstance(keyed, Refusal) else keyed[0]


def _decide(
    policy: Policy,
    ranked: list[Ranked],
    places: list[Refusal | None],
    current: str | None,
    listed: dict[str, Known],
    verify: Verify | None = None,
    family: Variant | None = None,
) -> Decision:
    considered = len(listed)
    desc = policy.descending
    cur = None if policy.allow_downgrade else _current_key(policy, current, listed, family)
    if cur is not None:
        below = f"orders below the current tag {current}"
        keep: list[Ranked] = []
        for item in ranked:
            if item[0] > cur if desc else item[0] < cur:  # type: ignore[operator]
                places[item[3]] = refusal(item[1], "below-current", below)
            else:
                keep.append(item)
        eligible, ranked = len(ranked), keep
    else:
        eligible = len(ranked)
    if not ranked:
        refused = tuple(filter(None, places))
        why = f"no tag qualifies under {policy.text!r}"
        if cur is not None and eligible:
            why = f"nothing orders at or above the current tag {current} under {policy.text!r}"
        why += variant_note(family, current, places)
        summary = Decision(None, "", refused).summary() or "no tags listed"
        return Decision(None, f"{why} ({summary})", refused, current, considered, eligible)
    win, verified, gated = gate(policy, ranked, places, current, verify)
    if win is None:
        refused = tuple(filter(None, places))
        why = f"no candidate under {policy.text!r} passes verify={policy.verify}"
        summary = Decision(None, "", refused).summary()
        first = f"; {gated[0].tag}: {gated[0].reason}" if gated else ""
        reason = f"{why} ({summary}){first}"
        return Decision(None, reason, refused, current, considered, eligible)
    word = _BEST.get((policy.order, desc), "best")
    reason = f"{word} of {len(ranked)} eligible under {policy.text!r}"
    reason += variant_note(family, current, places)
    if win[1] == current:
        reason = f"already newest: {reason}"
    elif cur is None and current is not None and not policy.allow_downgrade:
        reason += f" (the current tag {current} has no place in this ordering)"
    if verify is not None:
        reason += ", signature verified"
        reason += f" ({len(gated)} better refused by verify={policy.verify})" if gated else ""
    beaten = f"eligible, but {win[1]} wins"
    for item in ranked:
        if places[item[3]] is None:
            places[item[3]] = refusal(item[1], "not-newest", beaten)
    del places[win[3]]
    digest = verified if verify is not None else listed[win[1]][1]
    refused = tuple(filter(None, places))
    return Decision(win[1], reason, refused, current, considered, eligible, digest)


def _follow(
    policy: Policy, listed: dict[str, Known], current: str | None, verify: Verify | None
) -> Decision:
    tag = policy.digest_tag
    assert tag is not None
    if tag not in listed:
        return Decision(None, f"tag {tag} is not listed in the registry", (), current)
    digest = listed[tag][1]
    if verify is not None:
        verdict = verify(tag)
        if not isinstance(verdict, str):
            return Decision(None, f"tag {tag}: {verdict.reason}", (verdict,), current, 1, 1)
        digest = verdict
    reason = f"follows tag {tag}" + (f" at {digest}" if digest else " (digest to be resolved)")
    reason += ", signature verified" if verify is not None else ""
    return Decision(tag, reason, (), current, 1, 1, digest)
