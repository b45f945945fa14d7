"""The replay guard: an authenticated body seen again within a window rescans nothing.

A sender's retry and an attacker's replay look the same; both are answered 200 and
dropped. Memory is bounded by ``max_entries`` as well as by the window.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

REPLAY_WINDOW = 300.0  # seconds a delivery is remembered


class ReplayGuard:
    """Remembers the deliveries of the last ``window`` seconds, at most ``max_entries``."""

    def __init__(
        self,
        window: float = REPLAY_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.window, self._clock, self._max = window, clock, max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()  # digest -> when, oldest first
        self._lock = threading.Lock()

    def first_time(self, kind: str, body: bytes) -> bool:
        """True the first time ``body`` arrives for ``kind`` within the window."""
        key = hashlib.sha256(kind.encode() + b"\0" + body).hexdigest()
        now = self._clock()
        with self._lock:
            while self._seen and (
                len(self._seen) >= self._max or next(iter(self._seen.values())) <= now - self.window
            ):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
        return True
