"""What ``automator check`` says of a first-seen ``min-age``: per Site, the recorded tags it
waits for, when each was first seen and when it is old enough. Pure: the record is read
by the caller (read only, as ``plan`` and ``explain`` do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import policies
from automator.firstseen.cycle import first_seen_policy
from automator.firstseen.record import Key
from automator.firstseen.store import Recorded
from automator.model import Site
from policies.age import seen_phrase, span
from policies.keys import utc


def first_seen_notes(
    sites: Iterable[Site], recorded: Recorded | None, now: datetime, age_from: str = "build"
) -> dict[str, list[str]]:
    """For each Site (by ``where``) whose policy counts ``min-age`` from first sight: one
    line per recorded tag it would take were age no matter, best first, e.g. ``1.4.3 first
    seen 2026-12-01T10:00Z by automator, 23 h ago; waits until 2026-12-02T10:00Z (min-age
    1d)``. ``recorded`` None: the record was not read."""
    notes: dict[str, list[str]] = {}
    for site in sites:
        policy = first_seen_policy(site, age_from)
        if policy is None or policy.min_age is None:
            continue
        if recorded is None or recorded.problem is not None:
            notes[site.where] = ["first-seen record not read: every tag counts as seen now"]
            continue
        times = _of(recorded.times, site.image.canonical_name)
        lines = []
        for tag in policies.awaiting_age(policy, sorted(times), site.image.tag):
            ready = utc(times[tag]) + policy.min_age
            verdict = "waits until" if utc(now) < ready else "old enough since"
            lines.append(
                f"{tag} {seen_phrase(times[tag], now)}; {verdict} {ready:%Y-%m-%dT%H:%MZ}"
                f" (min-age {span(policy.min_age)})"
            )
        notes[site.where] = lines or ["no newer tag in range recorded as seen by automator yet"]
    return notes


def _of(times: Mapping[Key, datetime], repository: str) -> dict[str, datetime]:
    return {tag: when for (repo, tag), when in times.items() if repo == repository}
