"""What the status page shows: the last reconcile of every source, kept in memory.

The daemon feeds a :class:`StatusBoard` after each reconcile (its Outcome, or the
error it stopped with) and the board keeps one frozen :class:`SourceStatus` per
source; ``/status`` serves :func:`status_document` and ``/`` renders the same data
(:mod:`.statuspage`). Every text that came from outside (errors, reasons, paths) is
passed through :func:`automator.logs.redact`, so a credential in a message never
reaches the page; only http(s) pull-request URLs are kept, without credentials.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from automator.engine import Outcome
from automator.errors import AutomatorError
from automator.logs import redact
from automator.model import Change, Site, Skip

OPEN_PR_OUTCOMES = ("created", "updated", "unchanged")  # "closed" and "none": no open PR


@dataclass(frozen=True, slots=True)
class Reconcile:
    """One reconcile of one source as the page shows it."""

    started: float  # Unix time
    seconds: float
    result: str  # ok, failed
    commit: str | None = None  # the commit scanned
    pushed: str | None = None  # the commit pushed, if any
    error: str = ""


@dataclass(frozen=True, slots=True)
class SiteRow:
    """One Site: where, which image, its version now and the one its policy proposes."""

    file: str
    line: int
    image: str
    current: str
    proposed: str | None
    policy: str
    status: str  # changed, current, skipped, failed
    reason: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A skip or an error at ``where`` (file:line, a file, or an image)."""

    where: str
    reason: str
    error: bool


@dataclass(frozen=True, slots=True)
class PullRequest:
    branch: str
    outcome: str
    url: str | None


@dataclass(frozen=True, slots=True)
class HoldRow:
    """A Site a person's decision keeps where it is: a hold, a rollback or a declined PR."""

    where: str
    image: str
    kind: str  # hold, rollback, declined
    reason: str  # in the person's words, or the version declined
    by: str  # where it was decided: an annotation, a marker, a rule, a commit
    url: str | None = None  # the closed pull request of a declined version


@dataclass(frozen=True, slots=True)
class SoakRow:
    """A ``promote-from`` Site waiting for its source's tag to soak."""

    where: str
    image: str
    tag: str  # the tag it will take
    source: str  # the Site promoted from
    commit: str  # the commit that gave the source that tag
    until: str  # when the soak ends, ISO 8601 UTC


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """Everything the page says about one source."""

    name: str
    last: Reconcile | None = None  # None until the first reconcile ends
    failures: int = 0  # reconciles in a row that failed
    sites: tuple[SiteRow, ...] = ()  # as of the last reconcile that ran to the end
    problems: tuple[Problem, ...] = ()
    pull_requests: tuple[PullRequest, ...] = ()
    holds: tuple[HoldRow, ...] = ()  # held, rolled back or declined Sites
    soaks: tuple[SoakRow, ...] = ()  # promotions in soak
    next_at: float | None = None  # Unix time of the next reconcile, filled in when asked
    running: bool = False


class StatusBoard:
    """The latest :class:`SourceStatus` of each source; safe to use from any thread."""

    def __init__(self, names: Iterable[str], wall: Callable[[], float] = time.time) -> None:
        self.wall = wall  # Unix time: what people read, unlike the daemon's monotonic clock
        self._lock = threading.Lock()
        self._sources = {name: SourceStatus(name) for name in names}

    def reconciled(self, outcome: Outcome, started: float, seconds: float) -> None:
        """Record a reconcile that ran to the end (``started`` in Unix time)."""
        plan = outcome.plan
        commit = outcome.snapshot.commit_id if outcome.snapshot is not None else None
        rows = [_changed(c) for c in plan.changes]
        rows += [_row(s, None, "current", "the policy picks the tag it runs") for s in plan.current]
        rows += [
            _row(skip.site, None, "failed" if skip.error else "skipped", skip.reason)
            for skip in plan.skipped
            if skip.site is not None
        ]
        problems = tuple(Problem(s.where, redact(s.reason), s.error) for s in plan.skipped)
        pulls = tuple(
            PullRequest(r.branch, r.outcome, _web_url(r.url))
            for r in outcome.pull_requests
            if r.outcome in OPEN_PR_OUTCOMES
        )
        status = SourceStatus(
            outcome.source,
            Reconcile(started, seconds, "ok", commit, outcome.commit),
            sites=tuple(sorted(rows, key=lambda r: (r.file, r.line))),
            problems=problems,
            pull_requests=pulls,
            holds=tuple(_hold(s) for s in plan.skipped if s.site is not None and s.hold),
            soaks=tuple(row for s in plan.skipped if (row := _soak(s)) is not None),
        )
        with self._lock:
            self._sources[outcome.source] = status

    def failed(self, name: str, error: AutomatorError, started: float, seconds: float) -> None:
        """Record a reconcile that stopped with ``error``; the last Sites stay shown."""
        with self._lock:
            old = self._sources.get(name, SourceStatus(name))
            last = Reconcile(started, seconds, "failed", error=redact(str(error)))
            self._sources[name] = replace(old, last=last, failures=old.failures + 1)

    def sources(
        self, next_at: Mapping[str, float] | None = None, running: Iterable[str] = ()
    ) -> tuple[SourceStatus, ...]:
        """Every source in config order, with its next reconcile time when known."""
        due, busy = next_at or {}, set(running)
        with self._lock:
            entries = list(self._sources.values())
        return tuple(replace(s, next_at=due.get(s.name), running=s.name in busy) for s in entries)


def status_document(sources: Iterable[SourceStatus], now: float) -> dict[str, Any]:
    """The JSON of ``/status``: ``now`` (Unix time) and every source."""
    return {"version": 1, "now": now, "sources": [asdict(s) for s in sources]}


def _row(site: Site, proposed: str | None, status: str, reason: str) -> SiteRow:
    image = site.image
    current = image.tag or image.digest or ""
    if image.tag and image.digest:
        current = f"{image.tag}@{image.digest}"
    return SiteRow(
        site.file, site.line, image.name, current, proposed, site.policy, status, redact(reason)
    )


def _changed(change: Change) -> SiteRow:
    new = change.image.tag or change.image.digest or ""
    return _row(change.site, new, "changed", change.reason)


def _hold(skip: Skip) -> HoldRow:
    assert skip.site is not None and skip.hold is not None
    hold = skip.hold
    reason = skip.reason.split(" declined:", 1)[0] if hold.kind == "declined" else hold.reason
    url = _web_url(hold.by) if hold.kind == "declined" else None
    return HoldRow(
        skip.where, skip.site.image.name, hold.kind, redact(reason), redact(hold.by), url
    )


def _soak(skip: Skip) -> SoakRow | None:
    site = skip.site
    promo = site.promotion if site is not None else None
    if site is None or promo is None or skip.hold is not None or promo.ready or promo.problem:
        return None
    return SoakRow(
        skip.where, site.image.name, promo.tag or "", promo.source, promo.commit[:12], promo.until
    )


def _web_url(url: str | None) -> str | None:
    """An http(s) URL without credentials, or None (a page link must never run code)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    return url
