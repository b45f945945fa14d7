"""A clock that moves only when something sleeps: prove time bounds by counting waits."""

from __future__ import annotations

import threading
from typing import Any

from automator.http import HttpClient


class FakeTime:
    """``clock`` and ``sleep`` for ``HttpClient``; every sleep asked for is kept in ``sleeps``."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)

    def http(self, **kwargs: Any) -> HttpClient:
        """An HTTP edge on this clock (real sockets, pretend waits)."""
        return HttpClient(clock=self.clock, sleep=self.sleep, **kwargs)
