"""Webhooks per sender address: a token bucket each, refilled continuously."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    """A token bucket per sender; remembers at most ``max_senders`` of them."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = 10_000,
    ) -> None:
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._max = max_senders
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def allow(self, sender: str) -> bool:
        """Take one token from ``sender``'s bucket; False when it is empty."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(sender, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[sender] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return allowed
