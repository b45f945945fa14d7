"""One reconcile's use of the first-seen record: read once when first needed, saved by ``run``.

The plan asks it (``automator.plan.FirstSeen``) when each tag of a repository was first
seen, and tells it which tags a first-seen policy would take were age no matter (the
candidates to record). ``plan`` and ``explain`` only read; ``run`` saves afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import policies
from automator.firstseen.store import FirstSeenStore, Recorded
from automator.model import Site
from automator.reference import ImageRef


class FirstSeenCycle:
    """Implements ``automator.plan.FirstSeen`` over one source's record, at time ``now``."""

    def __init__(self, store: FirstSeenStore, now: datetime) -> None:
        self.store = store
        self.now = now
        self.recorded: Recorded | None = None  # None until a first-seen policy asks
        self._candidates: dict[str, set[str]] = {}
        self._in_use: set[str] = set()
        self._lock = threading.Lock()

    def seen(self, image: ImageRef) -> Mapping[str, datetime]:
        """When each recorded tag of ``image``'s repository was first seen."""
        name = image.canonical_name
        recorded = self._read()
        return {tag: when for (repo, tag), when in recorded.times.items() if repo == name}

    def note(self, image: ImageRef, tags: Sequence[str]) -> None:
        """``tags`` of ``image`` are candidates of a first-seen policy this cycle."""
        with self._lock:
            self._candidates.setdefault(image.canonical_name, set()).update(tags)

    def uses(self, repositories: Iterable[str]) -> None:
        """These repositories have Sites with a first-seen policy (held or not)."""
        with self._lock:
            self._in_use.update(repositories)

    def save(self) -> Recorded | None:
        """Record this cycle's candidates (``run``); None when no first-seen policy asked."""
        with self._lock:
            if self.recorded is None:
                return None
            self.recorded = self.store.save(self.recorded, self._candidates, self._in_use, self.now)
            return self.recorded

    def _read(self) -> Recorded:
        with self._lock:
            if self.recorded is None:
                self.recorded = self.store.read()
            return self.recorded


def first_seen_repositories(sites: Iterable[Site], age_from: str = "build") -> frozenset[str]:
    """The repositories of ``sites`` whose policy measures ``min-age`` from first sight."""
    return frozenset(
        site.image.canonical_name for site in sites if first_seen_policy(site, age_from)
    )


def first_seen_policy(site: Site, age_from: str = "build") -> policies.Policy | None:
    """``site``'s policy when its ``min-age`` counts from first sight, else None."""
    if site.chart is not None or "min-age" not in site.policy:  # most: no parse needed
        return None
    try:
        policy = policies.parse_policy(
            site.policy, flux_v1=site.origin == "flux-v1", age_from=age_from
        )
    except policies.PolicyError:
        return None
    return policy if policy.min_age is not None and policy.age_from == "first-seen" else None
