"""Per-host budgets: requests per second and requests in flight to one registry host."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from automator import metrics
from automator.errors import RegistryError
from automator.http import Deadline


class HostBudget:
    """Requests per second and requests in flight allowed to one host.

    A 429 or 503 halves the rate (``slow_down``); each success wins a little back
    (``recover``). Waits read ``clock`` and go through ``sleep``.
    """

    def __init__(
        self,
        requests_per_second: float,
        max_concurrency: int,
        host: str = "",
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.base_rate = requests_per_second
        self.rate = requests_per_second
        self._slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._clock = clock
        self._sleep = sleep

    @contextmanager
    def slot(self, deadline: Deadline) -> Iterator[None]:
        """Wait for a free slot and for the rate limit, then hold the slot."""
        if not self._slots.acquire(timeout=max(0.0, deadline.check())):
            deadline.check()
            raise RegistryError(f"{deadline.what}: no free connection slot", transient=True)
        try:
            self._pace(deadline)
            yield
        finally:
            self._slots.release()

    def _pace(self, deadline: Deadline) -> None:
        with self._lock:
            now = self._clock()
            at = max(now, self._next_at)
            if self.rate > 0:
                self._next_at = at + 1.0 / self.rate
        if at - now > deadline.remaining():
            raise RegistryError(
                f"{deadline.what}: the request budget for this host is spent until after the"
                " deadline; lower the load or raise requests_per_second",
                transient=True,
            )
        if at > now:
            metrics.RATE_LIMIT_WAITS.labels(host=self.host).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(host=self.host).inc(at - now)
            self._sleep(at - now)

    def slow_down(self, wait: float) -> None:
        """A 429/503: halve the rate and hold every request for ``wait`` seconds."""
        with self._lock:
            if self.base_rate > 0:
                self.rate = max(self.base_rate / 64, self.rate / 2)
            self._next_at = max(self._next_at, self._clock() + wait)

    def recover(self) -> None:
        """A success: win back a fiftieth of the configured rate."""
        if self.rate < self.base_rate:
            with self._lock:
                self.rate = min(self.base_rate, self.rate + self.base_rate / 50)
