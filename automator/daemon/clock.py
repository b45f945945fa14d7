"""The daemon's sense of time: a seam, so tests drive it with a simulated clock.

Every wait of the daemon's scheduler and drain goes through :meth:`Clock.wait` with
the daemon's condition held, and every state change notifies that condition. A fake
clock can therefore jump to the deadline instead of sleeping once nothing else can
happen first (the daemon's ``running`` is empty).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds, and waiting on a condition for at most some of them."""

    def now(self) -> float: ...

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        """Wait on ``condition`` (held) until notified or ``timeout`` passes (None: no limit).

        May return early; callers look at their state again and wait again.
        """


class SystemClock:
    """``time.monotonic`` and a real wait."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        condition.wait(timeout)
