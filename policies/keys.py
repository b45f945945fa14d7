"""Ordering keys: how each policy's ordering turns a tag into something to compare.

``keyer(policy)`` returns a function of (value, tag, build time) that gives a key and
whether the tag carries build metadata, or a Refusal that says why the tag has no
place in the ordering (not a version, outside the range, not a number, no build time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from policies.decision import Refusal, refusal
from policies.policy import Policy
from policies.semver import VersionKey, loose_key, try_version
from policies.variants import Variant, read_variant

_FLOAT: Final = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
)
Key = object  # a version key tuple, a str, a float: one type per ordering
Keyer = Callable[[str, str, datetime | None], "tuple[Key, bool] | Refusal"]


def keyer(policy: Policy, family: Variant | None = None) -> Keyer:
    """The key function of ``policy``'s ordering; with ``family``, only that variant's tags."""
    if family is not None:
        return _variant_keyer(policy, family)
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
    read = _flux_key if policy.strict else loose_key
    admits = cs.admits

    # Reasons are worded only when read; the version is parsed again for them.
    def not_a_version(value: str) -> str:
        return f"{value!r} is not a version ({parser})"

    def prerelease(value: str) -> str:
        v = try_version(value, flux=policy.strict)
        hint = "add ;prerelease or a prerelease to the range (e.g. >=1.0.0-0)"
        return f"prerelease {v} excluded by {where}; {hint}"

    def outside(value: str) -> str:
        v = try_version(value, flux=policy.strict)
        assert v is not None
        return f"outside {where}: {cs.validate(v)[1][0]}"

    def key(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
        keyed = read(value)
        if keyed is None:
            return refusal(tag, "not-a-version", value, not_a_version)
        if admits(keyed[0]):
            return keyed
        if keyed[0][3] == 0 and not pre_ok:
            return refusal(tag, "prerelease", value, prerelease)
        return refusal(tag, "out-of-range", value, outside)

    return key


def _variant_keyer(policy: Policy, current: Variant) -> Keyer:
    cs = policy.constraints
    assert cs is not None, "a semver-ordered policy always carries a range"
    pre_ok = cs.include_prerelease or any(cs.group_has_prerelease)
    where = f"the range {cs.text!r}" if policy.kind == "semver" else "the policy"
    family, admits = current.family, cs.admits
    mine = current.describe()

    def not_a_version(value: str) -> str:
        return f"{value!r} is not a version (nor a variant such as 1.2-alpine)"

    def other(value: str) -> str:
        found = read_variant(value)
        assert found is not None
        return f"variant {found.describe()}; the current tag is {mine} (variants=off mixes them)"

    def prerelease(value: str) -> str:
        hint = "add ;prerelease or a prerelease to the range (e.g. >=1.0.0-0)"
        return f"prerelease {value} excluded by {where}; {hint}"

    def outside(value: str) -> str:
        found = read_variant(value)
        assert found is not None
        numbers = ".".join(map(str, found.numbers))
        version = try_version(f"{numbers}-{found.prerelease}" if found.prerelease else numbers)
        assert version is not None
        return f"outside {where}: {cs.validate(version)[1][0]}"

    def key(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
        found = read_variant(value)
        if found is None:
            return refusal(tag, "not-a-version", value, not_a_version)
        if found.family != family:
            return refusal(tag, "other-variant", value, other)
        version = found.version_key
        if admits(version):
            return found.key, found.metadata
        if version[3] == 0 and not pre_ok:
            return refusal(tag, "prerelease", value, prerelease)
        return refusal(tag, "out-of-range", value, outside)

    return key


def _flux_key(value: str) -> tuple[VersionKey, bool] | None:
    v = try_version(value, flux=True)
    return None if v is None else (v.key, bool(v.metadata))


def _number(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
    if (value.isdigit() and value.isascii()) or _FLOAT.fullmatch(value):
        return float(value), False
    return refusal(tag, "not-a-number", value, _not_a_number)


def _not_a_number(value: str) -> str:
    return f"{value!r} is not a number"


def _built(value: str, tag: str, created: datetime | None) -> tuple[Key, bool] | Refusal:
    if created is None:
        return refusal(tag, "no-build-time", "build time unknown")
    return utc(created), False


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
