"""The time one call may take, retries and waits included, on an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from automator.http.errors import DeadlinePassed

Clock = Callable[[], float]


class Deadline:
    """The time left for one call named ``what`` ("ghcr.io/acme/api: listing tags")."""

    __slots__ = ("_clock", "_end", "seconds", "what")

    def __init__(self, seconds: float, what: str, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds
        self.seconds = seconds  # the whole budget, for messages and tests
        self.what = what

    def remaining(self) -> float:
        return self._end - self._clock()

    def check(self) -> float:
        """The seconds left, or DeadlinePassed when there are none."""
        left = self.remaining()
        if left <= 0:
            raise self.passed()
        return left

    def passed(self, *, cut: bool = False) -> DeadlinePassed:
        """The error that says this call ran out of time."""
        return DeadlinePassed(self.what, self.seconds, cut=cut)
