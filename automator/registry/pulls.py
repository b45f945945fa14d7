"""Docker Hub's pull limit: manifest GETs are the pulls it bills; the last few are never spent.

Docker Hub counts a pull for each GET of a manifest (a HEAD is free) and says where
the window stands on every manifest answer, HEAD included::

    ratelimit-limit: 100;w=21600
    ratelimit-remaining: 76;w=21600

A ``PullBudget`` per host keeps the last count it was told, less the pulls sent
since, and refuses a pull (``PullsDeferred``, transient) once only ``reserve`` are
left, so a person pulling by hand, or a node's kubelet, still has them. A count older
than its window (``w``) is forgotten: the next pull goes and its answer says again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from automator import metrics
from automator.errors import RegistryError
from automator.registry.settings import RegistrySettings

LIMIT_HEADER = "ratelimit-limit"
REMAINING_HEADER = "ratelimit-remaining"


class PullsDeferred(RegistryError):
    """A pull was not sent: it would spend the reserved pulls of the host's window."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)


@dataclass(frozen=True, slots=True)
class Window:
    """One answer's count: ``remaining`` of ``limit`` pulls per ``seconds``."""

    limit: int
    remaining: int
    seconds: int


def read_window(headers: Mapping[str, str]) -> Window | None:
    """The ``ratelimit-*`` headers of an answer, or None when absent or malformed."""
    limit = _count(headers.get(LIMIT_HEADER))
    remaining = _count(headers.get(REMAINING_HEADER))
    if limit is None or remaining is None:
        return None
    return Window(limit[0], remaining[0], limit[1] or remaining[1])


def _count(value: str | None) -> tuple[int, int] | None:
    """``"100;w=21600"`` -> ``(100, 21600)``; a missing ``w`` is 0."""
    if not value:
        return None
    head, *params = (part.strip() for part in value.split(";"))
    if not head.isdigit():
        return None
    seconds = 0
    for param in params:
        key, _, number = param.partition("=")
        if key.strip().lower() == "w" and number.strip().isdigit():
            seconds = int(number)
    return int(head), seconds


class PullBudget:
    """Pulls left in one host's window, as far as its answers and our own pulls tell."""

    def __init__(self, host: str, reserve: int, clock: Callable[[], float]) -> None:
        self.host = host
        self.reserve = max(0, reserve)
        self._clock = clock
        self._lock = threading.Lock()
        self._window: Window | None = None
        self._told_at = 0.0
        self._spent = 0  # pulls sent since the last count we were told

    @property
    def remaining(self) -> int | None:
        """Pulls left in the window, or None when no recent answer said."""
        with self._lock:
            return self._remaining(self._clock())

    def _remaining(self, now: float) -> int | None:
        window = self._window
        if window is None or (window.seconds and now - self._told_at > window.seconds):
            return None
        return max(0, window.remaining - self._spent)

    def take(self, what: str) -> None:
        """Count one pull about to be sent; raise PullsDeferred if it would dip into the reserve."""
        with self._lock:
            left = self._remaining(self._clock())
            if left is not None and left <= self.reserve:
                window = self._window
                assert window is not None
                metrics.PULLS_DEFERRED.labels(host=self.host).inc()
                raise PullsDeferred(
                    f"{what}: deferred, {left} of {window.limit} pulls left in the"
                    f" {_span(window.seconds)} window on {self.host} and the last"
                    f" {self.reserve} are kept (pull_reserve); the lookup is tried again"
                    " when the window has room, or lower pull_reserve"
                )
            self._spent += 1
            metrics.PULLS.labels(host=self.host).inc()
            if left is not None:
                metrics.PULLS_REMAINING.labels(host=self.host).set(left - 1)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the count an answer carries (any manifest answer, HEAD included)."""
        window = read_window(headers)
        if window is None:
            return
        with self._lock:
            self._window, self._told_at, self._spent = window, self._clock(), 0
        metrics.PULLS_REMAINING.labels(host=self.host).set(window.remaining)


class Pulls:
    """A ``PullBudget`` per host that bills pulls; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._budgets: dict[str, PullBudget] = {}

    def budget(self, settings: RegistrySettings) -> PullBudget | None:
        """The host's budget, or None when the host does not bill pulls."""
        if not settings.counts_pulls:
            return None
        with self._lock:
            found = self._budgets.get(settings.key)
            if found is None:
                found = PullBudget(settings.key, settings.pull_reserve, self._clock)
                self._budgets[settings.key] = found
            return found

    def remaining(self, host: str) -> int | None:
        """Pulls left in ``host``'s window, when it bills them and an answer said."""
        with self._lock:
            found = self._budgets.get(host)
        return found.remaining if found is not None else None


def _span(seconds: int) -> str:
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds}s" if seconds else "current"
