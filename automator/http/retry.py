"""The one retry loop, and the one ``Retry-After`` parser.

An attempt asks for another by raising ``Again`` (with the wait a server named, if it
named one); anything else ends the call. Waits are jittered exponential backoff,
never longer than ``Retry.max_wait`` nor past the call's deadline, and the loop stops
after ``Retry.attempts`` or at the deadline, re-raising the last ``Again`` with the
number of attempts made (fewer than ``Retry.attempts``: time ran out first).
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TypeVar

import tenacity
from tenacity.stop import stop_base

from automator.http.deadline import Deadline
from automator.http.errors import Again

logger = logging.getLogger(__name__)

T = TypeVar("T")
MARGIN = 0.05  # a wait ends this long before the deadline, so one more attempt can start
_DELTA = re.compile(r"\d{1,12}(?:\.\d{1,6})?")


@dataclass(frozen=True, slots=True)
class Retry:
    """How often and how long one call may try again."""

    attempts: int = 4  # in all, the first included
    max_wait: float = 30.0  # the longest single wait, a server's Retry-After included
    backoff: float = 0.2  # the first backoff ceiling; doubles each attempt, jittered
    backoff_max: float = 10.0


ONCE = Retry(attempts=1)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    Never negative; None when the value is missing or unreadable. ``now`` is the Unix
    time a date is measured from (default: the system clock).
    """
    if not value:
        return None
    value = value.strip()
    if _DELTA.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retrying(
    attempt: Callable[[], T],
    *,
    deadline: Deadline,
    policy: Retry,
    sleep: Callable[[float], None],
) -> T:
    """``attempt()``, again after each ``Again`` while attempts and time are left."""
    backoff = tenacity.wait_random_exponential(multiplier=policy.backoff, max=policy.backoff_max)

    def wait(state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = failure.wait if isinstance(failure, Again) else None
        pause = backoff(state) if asked is None else asked
        return max(0.0, min(pause, policy.max_wait, deadline.remaining() - MARGIN))

    def log(state: tenacity.RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome is not None else None
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        logger.debug("%s: %s; trying again in %.2fs", deadline.what, failure, pause)

    made = 0

    def counted() -> T:
        nonlocal made
        made += 1
        return attempt()

    retrier = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Again),
        stop=tenacity.stop_after_attempt(policy.attempts) | _OutOfTime(deadline),
        wait=wait,
        sleep=sleep,
        before_sleep=log,
        reraise=True,
    )
    try:
        return retrier(counted)
    except Again as again:
        again.attempts = made
        raise


class _OutOfTime(stop_base):
    """Stop when too little time is left for another attempt to start."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.deadline.remaining() <= MARGIN + 1e-9  # float dust after a clamped wait
