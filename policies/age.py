"""``min-age``: how old a tag is, measured from its build time or from when it was first seen.

``age-from=build`` (the default) reads the image's self-declared ``created`` time, which
any publisher can set. ``age-from=first-seen`` reads the time the caller first saw the tag
(automator keeps those in the config repository), passed in as ``seen``; a tag the caller
has not recorded counts as seen now, so it is too young. The tag running now is never
refused for its first-seen age: it already runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from policies.decision import Refusal, refusal
from policies.keys import utc
from policies.policy import Policy

Seen = Mapping[str, datetime]  # tag -> when the caller first saw it


def too_young(
    policy: Policy,
    tag: str,
    created: datetime | None,
    now: datetime,
    seen: Seen | None = None,
    current: str | None = None,
) -> Refusal | None:
    """Why ``tag`` is younger than the policy's ``min-age``, or None when it is old enough."""
    if policy.min_age is None:
        return None
    if policy.age_from == "first-seen":
        return _first_seen(policy.min_age, tag, now, seen, current)
    if created is None:
        return refusal(tag, "no-build-time", "build time unknown, and min-age needs it")
    age = utc(now) - utc(created)
    if age >= policy.min_age:
        return None
    return refusal(tag, "too-young", f"built {age} ago, younger than min-age {policy.min_age}")


def _first_seen(
    min_age: timedelta, tag: str, now: datetime, seen: Seen | None, current: str | None
) -> Refusal | None:
    if tag == current:
        return None
    first = None if seen is None else seen.get(tag)
    if first is None:
        why = f"not recorded as seen by automator before now, younger than min-age {span(min_age)}"
        return refusal(tag, "too-young", why)
    age = utc(now) - utc(first)
    if age >= min_age:
        return None
    why = f"{seen_phrase(first, now)}, younger than min-age {span(min_age)}"
    return refusal(tag, "too-young", why)


def seen_phrase(first: datetime, now: datetime) -> str:
    """``first seen 2026-12-01T10:00Z by automator, 26 h ago``."""
    return f"first seen {utc(first):%Y-%m-%dT%H:%MZ} by automator, {ago(utc(now) - utc(first))}"


def span(duration: timedelta) -> str:
    """A duration as a policy writes it: ``24h``, ``1h30m``, ``7d``."""
    seconds, out = int(duration.total_seconds()), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not out):
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def ago(age: timedelta) -> str:
    """A duration as people read it: ``26 h ago``, ``12 min ago``, ``now``."""
    seconds = int(age.total_seconds())
    if seconds < 60:
        return "just now" if seconds >= 0 else "in the future (check the clocks)"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
