"""Tag selection: given tags and the current tag, which tag should run, and why.

Walking-skeleton scope: ``semver:<range>`` with ``~``, ``^``, comparison operators
and AND by space or comma.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import semver


class PolicyError(ValueError):
    """A policy string cannot be read."""


@dataclass(frozen=True, slots=True)
class Candidate:
    tag: str
    created: datetime | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    text: str
    kind: str
    range: str
    needs_created: bool = False
    pin_digest: bool = False
    digest_tag: str | None = None
    platform: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    tag: str | None
    reason: str
    refused: tuple[Refusal, ...] = ()


_VERSION_RE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_COMPARATOR_RE = re.compile(r"^(~|\^|>=|<=|>|<|=)?\s*v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$")


def parse_policy(text: str) -> Policy:
    kind, sep, arg = text.partition(":")
    if kind != "semver" or not sep or not arg.strip():
        raise PolicyError(f"{text!r}: expected semver:<range> at position 0")
    for part in re.split(r"[\s,]+", arg.strip()):
        if not _COMPARATOR_RE.match(part):
            raise PolicyError(f"{text!r}: {part!r} is not a version constraint")
    return Policy(text=text, kind=kind, range=arg.strip())


def _version(tag: str) -> semver.Version | None:
    match = _VERSION_RE.match(tag)
    if match is None:
        return None
    return semver.Version(*(int(g or 0) for g in match.groups()))


def _satisfies(version: semver.Version, comparator: str) -> bool:
    match = _COMPARATOR_RE.match(comparator)
    assert match is not None
    op, major, minor, patch = match.groups()
    low = semver.Version(int(major), int(minor or 0) if minor not in ("x", "*") else 0, 0)
    if patch not in (None, "x", "*"):
        low = low.replace(patch=int(patch))
    if op == "~":
        high = low.bump_minor() if minor is not None else low.bump_major()
        return bool(low <= version < high)
    if op == "^":
        high = low.bump_major() if low.major else low.bump_minor()
        return bool(low <= version < high)
    ops = {">=": version >= low, "<=": version <= low, ">": version > low, "<": version < low}
    return bool(ops.get(op or "=", version == low))


def select_tag(
    policy: Policy,
    candidates: Iterable[Candidate | str],
    current: str | None,
    *,
    now: datetime | None = None,
) -> Decision:
    refused: list[Refusal] = []
    best: tuple[semver.Version, str] | None = None
    floor = _version(current) if current else None
    for candidate in candidates:
        tag = candidate if isinstance(candidate, str) else candidate.tag
        version = _version(tag)
        if version is None:
            refused.append(Refusal(tag, "not a version"))
        elif not all(_satisfies(version, c) for c in re.split(r"[\s,]+", policy.range)):
            refused.append(Refusal(tag, f"outside {policy.range}"))
        elif floor is not None and version < floor:
            refused.append(Refusal(tag, f"below current {current}"))
        elif best is None or (version, tag) > best:
            best = (version, tag)
    if best is None:
        return Decision(None, f"no tag matches {policy.text}", tuple(refused))
    return Decision(best[1], f"highest version in {policy.range}", tuple(refused))
