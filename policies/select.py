"""Selecting the tag a workload should run: ``select_tag(policy, candidates, current)``.

Each candidate goes through the same steps, and the first that refuses it names why:
valid OCI tag (at most 128 characters) -> not a cosign artefact (``*.sig``, ``*.att``,
``*.sbom``) -> the ``regex:``/``glob:`` selection -> ``filter=`` (and ``extract=``) ->
``ignore=`` globs -> a key under the policy's ordering (a version, a number, a build
time) -> the semver range -> ``min-age`` -> not below the current tag.

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
from datetime import UTC, datetime
from typing import Final

from policies.decision import Candidate, Decision, Refusal
from policies.errors import VersionError
from policies.filters import expand, is_cosign_artefact, tag_problem
from policies.policy import Policy
from policies.semver import parse_flux, parse_version

_FLOAT: Final = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
)
_BEST: Final = {
    ("semver", False): "highest version",
    ("alphabetical", False): "last tag alphabetically",
    ("alphabetical", True): "first tag alphabetically",
    ("numerical", False): "largest number",
    ("numerical", True): "smallest number",
    ("newest-build", False): "newest build",
}

Key = object  # a version key tuple, a str, a float: one type per ordering
Ranked = tuple[Key, str, bool]  # key, tag, has build metadata
Keyer = Callable[[str, Candidate], "tuple[Key, bool] | Refusal"]


def select_tag(
    policy: Policy,
    candidates: Iterable[Candidate | str],
    current: str | None,
    *,
    now: datetime | None = None,
) -> Decision:
    """Pick the tag to run under ``policy``; explain every tag that did not win.

    ``now`` (default: the clock) only matters for ``min-age``; pass it for repeatable
    results.
    """
    listed = _merge(candidates)
    if policy.kind == "digest":
        return _follow(policy, listed, current)
    keyer = _keyer(policy)
    now = now or datetime.now(UTC)
    refused: list[Refusal] = []
    ranked: list[Ranked] = []
    failed: Refusal | None = None
    for cand in listed.values():
        value = _admit(policy, cand.tag, refused)
        if value is None:
            continue
        keyed = keyer(value, cand)
        if isinstance(keyed, Refusal):
            refused.append(keyed)
            failed = failed or (keyed if keyed.code == "not-a-number" else None)
        elif (young := _too_young(policy, cand, now)) is not None:
            refused.append(young)
        else:
            ranked.append((keyed[0], cand.tag, keyed[1]))
    considered = len(listed)
    if failed is not None:
        reason = f"{policy.kind} ordering needs numbers, and {failed.tag!r} is not one; narrow "
        reason += "the tags with filter=/extract="
        return Decision(None, reason, _sorted(refused), current, considered, failed=True)
    return _decide(policy, ranked, refused, current, listed, considered)


def _merge(candidates: Iterable[Candidate | str]) -> dict[str, Candidate]:
    """One candidate per tag, independent of input order (newest time, least digest)."""
    out: dict[str, Candidate] = {}
    for item in candidates:
        cand = Candidate(item) if isinstance(item, str) else item
        seen = out.get(cand.tag)
        if seen is not None and seen != cand:
            times = [t for t in (seen.created, cand.created) if t is not None]
            digests = [d for d in (seen.digest, cand.digest) if d is not None]
            cand = Candidate(cand.tag, max(times, default=None), min(digests, default=None))
        out[cand.tag] = cand
    return dict(sorted(out.items()))


def _admit(policy: Policy, tag: str, refused: list[Refusal]) -> str | None:
    """The value to order ``tag`` by (extracted or the tag), or None once refused."""
    problem = tag_problem(tag)
    if problem is not None:
        refused.append(Refusal(tag, problem, "invalid-tag"))
        return None
    if is_cosign_artefact(tag):
        refused.append(Refusal(tag, "cosign signature, attestation or SBOM tag", "cosign"))
        return None
    value = extracted(policy, tag)
    if value is None:
        refused.append(Refusal(tag, f"does not match {_selection(policy)}", "filtered"))
        return None
    for glob, pattern in zip(policy.ignore, policy.ignore_patterns, strict=True):
        if pattern.fullmatch(tag):
            refused.append(Refusal(tag, f"matches ignore={glob}", "ignored"))
            return None
    return value


def extracted(policy: Policy, tag: str) -> str | None:
    """What ``policy`` orders ``tag`` by, or None when its selection or filter refuses it."""
    if policy.match is not None:
        selected = (
            policy.match.search(tag) if policy.kind == "regex" else policy.match.fullmatch(tag)
        )
        if selected is None:
            return None
        if policy.filter is None and policy.extract is not None:
            return expand(policy.extract, selected)
    if policy.filter is not None:
        m = policy.filter.search(tag)
        if m is None:
            return None
        if policy.extract is not None:
            return expand(policy.extract, m)
    return tag


def _selection(policy: Policy) -> str:
    parts = []
    if policy.match is not None:
        parts.append(f"{policy.kind}:{policy.match.pattern}")
    if policy.filter is not None:
        parts.append(f"filter={policy.filter.pattern}")
    return " and ".join(parts)


def _keyer(policy: Policy) -> Keyer:
    if policy.order == "semver":
        return _semver_keyer(policy)
    if policy.order == "numerical":
        return _number
    if policy.order == "newest-build":
        return _built
    return lambda value, cand: (value, False)


def _semver_keyer(policy: Policy) -> Keyer:
    parse = parse_flux if policy.strict else parse_version
    cs = policy.constraints
    assert cs is not None, "a semver-ordered policy always carries a range"
    pre_ok = cs.include_prerelease or any(cs.group_has_prerelease)
    where = f"the range {cs.text!r}" if policy.kind == "semver" else "the policy"

    def key(value: str, cand: Candidate) -> tuple[Key, bool] | Refusal:
        try:
            v = parse(value)
        except VersionError as exc:
            return Refusal(cand.tag, f"not a version: {exc}", "not-a-version")
        if cs.check(v):
            return v.key, bool(v.metadata)
        if v.prerelease and not pre_ok:
            hint = "add ;prerelease or a prerelease to the range (e.g. >=1.0.0-0)"
            return Refusal(cand.tag, f"prerelease {v} excluded by {where}; {hint}", "prerelease")
        first = cs.validate(v)[1][0]
        return Refusal(cand.tag, f"outside {where}: {first}", "out-of-range")

    return key


def _number(value: str, cand: Candidate) -> tuple[Key, bool] | Refusal:
    if _FLOAT.fullmatch(value):
        return float(value), False
    return Refusal(cand.tag, f"{value!r} is not a number", "not-a-number")


def _built(value: str, cand: Candidate) -> tuple[Key, bool] | Refusal:
    if cand.created is None:
        return Refusal(cand.tag, "build time unknown", "no-build-time")
    return _utc(cand.created), False


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _too_young(policy: Policy, cand: Candidate, now: datetime) -> Refusal | None:
    if policy.min_age is None:
        return None
    if cand.created is None:
        return Refusal(cand.tag, "build time unknown, and min-age needs it", "no-build-time")
    age = _utc(now) - _utc(cand.created)
    if age >= policy.min_age:
        return None
    return Refusal(cand.tag, f"built {age} ago, younger than min-age {policy.min_age}", "too-young")


def _current_key(policy: Policy, current: str | None, listed: dict[str, Candidate]) -> Key | None:
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
    keyed = _keyer(policy)(value, listed.get(current, Candidate(current)))
    return None if isinstance(keyed, Refusal) else keyed[0]


def _decide(
    policy: Policy,
    ranked: list[Ranked],
    refused: list[Refusal],
    current: str | None,
    listed: dict[str, Candidate],
    considered: int,
) -> Decision:
    desc = policy.descending
    cur = None if policy.allow_downgrade else _current_key(policy, current, listed)
    if cur is not None:
        keep: list[Ranked] = []
        for item in ranked:
            if item[0] > cur if desc else item[0] < cur:  # type: ignore[operator]
                refused.append(
                    Refusal(item[1], f"orders below the current tag {current}", "below-current")
                )
            else:
                keep.append(item)
        eligible, ranked = len(ranked), keep
    else:
        eligible = len(ranked)
    if not ranked:
        why = f"no tag qualifies under {policy.text!r}"
        if cur is not None and eligible:
            why = f"nothing orders at or above the current tag {current} under {policy.text!r}"
        summary = Decision(None, "", tuple(refused)).summary() or "no tags listed"
        return Decision(None, f"{why} ({summary})", _sorted(refused), current, considered, eligible)
    best = (min if desc else max)(item[0] for item in ranked)  # type: ignore[type-var]
    ties = [item for item in ranked if item[0] == best]
    win = min(ties, key=lambda item: (item[1] != current, item[2], item[1]))
    word = _BEST.get((policy.order, desc), "best")
    reason = f"{word} of {len(ranked)} eligible under {policy.text!r}"
    if win[1] == current:
        reason = f"already newest: {reason}"
    elif cur is None and current is not None and not policy.allow_downgrade:
        reason += f" (the current tag {current} has no place in this ordering)"
    for item in ranked:
        if item[1] != win[1]:
            refused.append(Refusal(item[1], f"eligible, but {win[1]} wins", "not-newest"))
    digest = listed[win[1]].digest
    return Decision(win[1], reason, _sorted(refused), current, considered, eligible, digest)


def _follow(policy: Policy, listed: dict[str, Candidate], current: str | None) -> Decision:
    tag = policy.digest_tag
    assert tag is not None
    if tag not in listed:
        return Decision(None, f"tag {tag} is not listed in the registry", (), current)
    digest = listed[tag].digest
    reason = f"follows tag {tag}" + (f" at {digest}" if digest else " (digest to be resolved)")
    return Decision(tag, reason, (), current, 1, 1, digest)


def _sorted(refused: list[Refusal]) -> tuple[Refusal, ...]:
    return tuple(sorted(refused, key=lambda r: r.tag))
