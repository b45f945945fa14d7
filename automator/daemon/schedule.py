"""When each source is reconciled next: pure bookkeeping, no threads and no I/O.

The caller passes the time (``now``, monotonic seconds) and a random source, and
holds whatever lock guards the schedule. A source waits ``interval * (1 +- jitter)``
after a reconcile, a jittered exponential backoff (``BACKOFF_BASE`` doubling, capped
at the interval) after a transient error, and the interval after a permanent one. A
webhook makes every source that uses a named image due now, or due again as soon as
it finishes if it is running; before its first scan a source is named by every
webhook. Sources that share a remote (and so a bare clone) take turns: the one due
first goes first. A source whose last ``max_failures`` reconciles (default
``FAILING_RECONCILES``) all failed makes the daemon not ready, naming the last error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from automator.errors import AutomatorError

BACKOFF_BASE = 5.0  # seconds after the first transient failure; doubles, capped at the interval
STALE_CYCLES = 3  # not ready when a source has not finished a reconcile in this many intervals
FAILING_RECONCILES = 3  # not ready when a source's last this many reconciles all failed


class Random(Protocol):
    """Where jitter comes from; ``random.Random`` is one."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(slots=True)
class _Entry:
    """The mutable schedule of one source."""

    name: str
    remote: str
    due: float
    running: bool = False
    again: bool = False  # a webhook arrived while it was running
    failures: int = 0  # reconciles in a row that failed
    error: str = ""  # the last failure's message
    images: frozenset[str] | None = None  # None until the first scan finished
    finished: float | None = None  # when the last reconcile finished


class Schedule:
    """The due times of a fixed list of sources; every source is due at ``now`` first."""

    def __init__(
        self,
        sources: Iterable[tuple[str, str]],
        *,
        interval: float,
        jitter: float,
        now: float,
        random: Random,
        max_failures: int = FAILING_RECONCILES,
    ) -> None:
        """``sources`` are (name, remote) in config order; ``interval`` is in seconds."""
        self.interval, self.jitter, self._random = interval, jitter, random
        self.max_failures = max_failures
        self._entries = {name: _Entry(name, remote, due=now) for name, remote in sources}

    @property
    def running(self) -> list[str]:
        """The sources handed out by :meth:`take_due` and not yet finished or released."""
        return [e.name for e in self._entries.values() if e.running]

    def busy(self, now: float) -> list[str]:
        """The sources reconciling now, due by ``now``, or asked for again meanwhile."""
        return [e.name for e in self._entries.values() if e.running or e.due <= now]

    def take_due(self, now: float) -> list[str]:
        """Mark the sources due by ``now`` as running and return them, oldest due first.

        A source whose remote is busy waits for it; it comes after that reconcile.
        """
        busy = {e.remote for e in self._entries.values() if e.running}
        taken = []
        for entry in sorted(self._entries.values(), key=lambda e: e.due):  # stable: config order
            if not entry.running and entry.due <= now and entry.remote not in busy:
                entry.running = True
                busy.add(entry.remote)
                taken.append(entry.name)
        return taken

    def next_due(self) -> float | None:
        """When :meth:`take_due` can next hand out a source; None: only a finish can tell."""
        busy = {e.remote for e in self._entries.values() if e.running}
        waiting = [e.due for e in self._entries.values() if e.remote not in busy]
        return min(waiting, default=None)

    def due_times(self) -> dict[str, float]:
        """When each source is next due (the daemon's clock); a running one is left out."""
        return {e.name: e.due for e in self._entries.values() if not e.running}

    def trigger(self, images: frozenset[str], now: float) -> list[str]:
        """Make every source that uses one of ``images`` due now; return their names."""
        names = []
        for entry in self._entries.values():
            if entry.images is not None and not entry.images & images:
                continue
            names.append(entry.name)
            if entry.running:
                entry.again = True
            else:
                entry.due = min(entry.due, now)
        return names

    def images(self) -> frozenset[str] | None:
        """Every image the sources used at their last scan; None while one never finished."""
        sets = [e.images for e in self._entries.values()]
        if any(images is None for images in sets):
            return None
        return frozenset().union(*(images for images in sets if images is not None))

    def finish(
        self,
        name: str,
        now: float,
        *,
        images: frozenset[str] | None = None,
        error: AutomatorError | None = None,
    ) -> None:
        """Record a finished reconcile; ``images`` None (it raised) keeps the last set."""
        entry = self._entries[name]
        if images is not None:
            entry.images = images
        entry.failures = entry.failures + 1 if error is not None else 0
        entry.error = str(error) if error is not None else ""
        delay = self.interval
        if error is not None and error.transient:
            delay = min(self.interval, BACKOFF_BASE * 2 ** (entry.failures - 1))
        entry.due = now + delay * self._random.uniform(1 - self.jitter, 1 + self.jitter)
        if entry.again:
            entry.due, entry.again = now, False
        entry.finished = now
        entry.running = False

    def release(self, name: str) -> None:
        """A source taken but never reconciled (the daemon is stopping): not running."""
        self._entries[name].running = False

    def problems(self, now: float) -> list[str]:
        """Why the sources are not ready: a first reconcile to come, none for too long, or
        too many failures in a row."""
        problems = []
        for entry in self._entries.values():
            if entry.failures >= self.max_failures:
                problems.append(
                    f"{entry.name}: {entry.failures} reconciles in a row failed: {entry.error}"
                )
            elif entry.finished is None:
                problems.append(f"{entry.name}: first reconcile not finished")
            elif now - entry.finished > STALE_CYCLES * self.interval:
                problems.append(f"{entry.name}: no reconcile for {now - entry.finished:.0f}s")
        return problems
