"""Per-host budgets: a token bucket of requests and a cap on requests in flight.

A host's bucket holds ``burst`` requests and refills at ``requests_per_second``, so
an ordinary cycle on a registry that never throttles goes out at once (within
``max_concurrency``), and only a long run of requests is paced. A 429 or 503 empties
the burst, holds every request for the ``Retry-After`` and halves the refill rate;
each success wins a fiftieth of it back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from automator import metrics
from automator.errors import RegistryError
from automator.http import Deadline


class HostBudget:
    """Requests per second (with a burst) and requests in flight allowed to one host.

    A 429 or 503 halves the rate (``slow_down``); each success wins a little back
    (``recover``). Waits read ``clock`` and go through ``sleep``. With ``burst=1``
    requests are evenly spaced, as a plain rate limit would.
    """

    def __init__(
        self,
        requests_per_second: float,
        max_concurrency: int,
        host: str = "",
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.base_rate = requests_per_second
        self.rate = requests_per_second
        self.burst = max(1, burst)
        self._slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self._lock = threading.Lock()
        self._tokens = float(self.burst)  # may go below zero: requests already promised a time
        self._at = clock()  # when _tokens was counted; in the future while a 429 holds the host
        self._clock = clock
        self._sleep = sleep

    @property
    def tokens(self) -> float:
        """Requests that may go now without waiting (negative: already promised ahead)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    @contextmanager
    def slot(self, deadline: Deadline) -> Iterator[None]:
        """Wait for a free slot and for a token, then hold the slot."""
        if not self._slots.acquire(timeout=max(0.0, deadline.check())):
            deadline.check()
            raise RegistryError(f"{deadline.what}: no free connection slot", transient=True)
        try:
            self._pace(deadline)
            yield
        finally:
            self._slots.release()

    def _refill(self, now: float) -> None:
        if now > self._at:
            if self.rate > 0:
                self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now

    def _pace(self, deadline: Deadline) -> None:
        with self._lock:
            now = self._clock()
            self._refill(now)
            at = self._at  # a held host: not before the hold ends
            if self.rate > 0:
                self._tokens -= 1
                at += max(0.0, -self._tokens) / self.rate
            if at - now > deadline.remaining():
                if self.rate > 0:
                    self._tokens += 1  # not spent after all
                raise RegistryError(
                    f"{deadline.what}: the request budget for this host is spent until after"
                    " the deadline; lower the load or raise requests_per_second or burst",
                    transient=True,
                )
        if at > now:
            metrics.RATE_LIMIT_WAITS.labels(host=self.host).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(host=self.host).inc(at - now)
            self._sleep(at - now)

    def slow_down(self, wait: float) -> None:
        """A 429/503: halve the rate, drain the burst and hold every request ``wait`` s."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            owed = max(0.0, 1.0 - self._tokens) / self.rate if self.rate > 0 else 0.0
            if self._at + owed < now + wait:  # one request when the hold ends, then paced
                self._at, self._tokens = now + wait, 1.0
            if self.base_rate > 0:
                self.rate = max(self.base_rate / 64, self.rate / 2)

    def recover(self) -> None:
        """A success: win back a fiftieth of the configured rate."""
        if self.rate < self.base_rate:
            with self._lock:
                self.rate = min(self.base_rate, self.rate + self.base_rate / 50)
