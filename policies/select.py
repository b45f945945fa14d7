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
from operator import attrgetter
from typing import Final

from policies.decision import Candidate, Decision, Refusal
from policies.errors import VersionError
from policies.filters import COSIGN_SUFFIXES, MAX_TAG_CHARS, compile_template, tag_problem
from policies.policy import Policy
from policies.semver import parse_flux, parse_version, try_version

_FLOAT: Final = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
)
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
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
Known = tuple[datetime | None, str | None]  # what we know of a tag: build time, digest
Keyer = Callable[[str, str, datetime | None], "tuple[Key, bool] | Refusal"]
_UNKNOWN: Final[Known] = (None, None)


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
    value_of = _extractor(policy)
    now = now or datetime.now(UTC)
    refused: list[Refusal] = []
    ranked: list[Ranked] = []
    failed: Refusal | None = None
    for tag in sorted(listed):
        value = _admit(policy, tag, value_of, refused)
        if value is None:
            continue
        created = listed[tag][0]
        keyed = keyer(value, tag, created)
        if isinstance(keyed, Refusal):
            refused.append(keyed)
            failed = failed or (keyed if keyed.code == "not-a-number" else None)
        elif policy.min_age is not None and (young := _too_young(policy, tag, created, now)):
            refused.append(young)
        else:
            ranked.append((keyed[0], tag, keyed[1]))
    if failed is not None:
        reason = f"{policy.kind} ordering needs numbers, and {failed.tag!r} is not one; narrow "
        reason += "the tags with filter=/extract="
        return Decision(None, reason, tuple(refused), current, len(listed), failed=True)
    return _decide(policy, ranked, refused, current, listed)


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


def _admit(
    policy: Policy, tag: str, value_of: Callable[[str], str | None], refused: list[Refusal]
) -> str | None:
    """The value to order ``tag`` by (extracted or the tag), or None once refused."""
    if len(tag) > MAX_TAG_CHARS or not _TAG.fullmatch(tag):
        refused.append(Refusal(tag, tag_problem(tag) or "not a valid tag", "invalid-tag"))
        return None
    if tag.endswith(COSIGN_SUFFIXES):
        refused.append(Refusal(tag, "cosign signature, attestation or SBOM tag", "cosign"))
        return None
    value = value_of(tag)
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
    return _extractor(policy)(tag)


def _extractor(policy: Policy) -> Callable[[str], str | None]:
    select = policy.match
    if select is not None:
        find = select.search if policy.kind == "regex" else select.fullmatch
    template = compile_template(policy.extract) if policy.extract is not None else None

    def value_of(tag: str) -> str | None:
        m = None
        if select is not None:
            m = find(tag)
            if m is None:
                return None
        if policy.filter is not None:
            m = policy.filter.search(tag)
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


def _keyer(policy: Policy) -> Keyer:
    if policy.order == "semver":
        return _semver_keyer(policy)
    if policy.order == "numerical":
        return _number
    if policy.order == "newest-build":
        return _built
    return lambda value, tag, created: (value, False)


def _semver_keyer(policy: Policy) -> Keyer:
    cs = policy.constraints
    assert cs is not None, "a semver-ordered policy always carries a range"
    pre_ok = cs.include_prerelease or any(cs.group_has_prerelease)
    where = f"the range {cs.text!r}" if policy.kind == "semver" else "the policy"

    parser = "Flux (strict SemVer 2.0 after one v)" if policy.strict else "Masterminds NewVersion"

    def key(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
        v = try_version(value, flux=policy.strict)
        if v is None:
            return Refusal(tag, f"{value!r} is not a version ({parser})", "not-a-version")
        if cs.check(v):
            return v.key, bool(v.metadata)
        if v.prerelease and not pre_ok:
            hint = "add ;prerelease or a prerelease to the range (e.g. >=1.0.0-0)"
            return Refusal(tag, f"prerelease {v} excluded by {where}; {hint}", "prerelease")
        first = cs.validate(v)[1][0]
        return Refusal(tag, f"outside {where}: {first}", "out-of-range")

    return key


def _number(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
    if _FLOAT.fullmatch(value):
        return float(value), False
    return Refusal(tag, f"{value!r} is not a number", "not-a-number")


def _built(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
    if created is None:
        return Refusal(tag, "build time unknown", "no-build-time")
    return _utc(created), False


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _too_young(policy: Policy, tag: str, created: datetime | None, now: datetime) -> Refusal | None:
    if policy.min_age is None:
        return None
    if created is None:
        return Refusal(tag, "build time unknown, and min-age needs it", "no-build-time")
    age = _utc(now) - _utc(created)
    if age >= policy.min_age:
        return None
    return Refusal(tag, f"built {age} ago, younger than min-age {policy.min_age}", "too-young")


def _current_key(policy: Policy, current: str | None, listed: dict[str, Known]) -> Key | None:
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
    keyed = _keyer(policy)(value, current, listed.get(current, _UNKNOWN)[0])
    return None if isinstance(keyed, Refusal) else keyed[0]


def _decide(
    policy: Policy,
    ranked: list[Ranked],
    refused: list[Refusal],
    current: str | None,
    listed: dict[str, Known],
) -> Decision:
    considered = len(listed)
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
    digest = listed[win[1]][1]
    return Decision(win[1], reason, _sorted(refused), current, considered, eligible, digest)


def _follow(policy: Policy, listed: dict[str, Known], current: str | None) -> Decision:
    tag = policy.digest_tag
    assert tag is not None
    if tag not in listed:
        return Decision(None, f"tag {tag} is not listed in the registry", (), current)
    digest = listed[tag][1]
    reason = f"follows tag {tag}" + (f" at {digest}" if digest else " (digest to be resolved)")
    return Decision(tag, reason, (), current, 1, 1, digest)


def _sorted(refused: list[Refusal]) -> tuple[Refusal, ...]:
    """Refusals by tag; the list is two sorted runs, which timsort merges cheaply."""
    refused.sort(key=attrgetter("tag"))
    return tuple(refused)
