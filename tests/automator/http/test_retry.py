"""The one retry loop and the one Retry-After parser, on a clock that moves only by sleeps."""

from __future__ import annotations

from collections.abc import Callable
from email.utils import formatdate

import pytest

from automator.http import Again, Deadline, DeadlinePassed, Retry, retry_after
from automator.http.retry import retrying
from tests.faketime import FakeTime

NOW = 1_750_000_000.0  # a Unix time to measure HTTP dates from


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW + 30, usegmt=True).replace("GMT", "-0000"), 30.0),  # naive: GMT
        (formatdate(NOW - 30, usegmt=True), 0.0),  # past: clamped at 0
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1e3", None),
        ("9" * 40, None),
    ],
)
def test_retry_after_reads_seconds_and_dates(value: str | None, seconds: float | None) -> None:
    assert retry_after(value, now=NOW) == seconds


def failing(times: int, wait: float | None = None) -> tuple[Callable[[], str], list[int]]:
    """An attempt that asks for another ``times`` times, then succeeds; and its call count."""
    calls = [0]

    def attempt() -> str:
        calls[0] += 1
        if calls[0] <= times:
            raise Again(f"failure {calls[0]}", wait)
        return "ok"

    return attempt, calls


def run(attempt: Callable[[], str], time: FakeTime, policy: Retry, seconds: float = 60.0) -> str:
    deadline = Deadline(seconds, "acme: calling", time.clock)
    return retrying(attempt, deadline=deadline, policy=policy, sleep=time.sleep)


def test_backoff_is_jittered_below_doubling_ceilings() -> None:
    time = FakeTime()
    attempt, calls = failing(5)
    assert run(attempt, time, Retry(attempts=6, backoff=0.2, backoff_max=1.0)) == "ok"
    assert calls == [6]
    ceilings = [0.2, 0.4, 0.8, 1.0, 1.0]
    assert len(time.sleeps) == 5
    assert all(0 <= slept <= top for slept, top in zip(time.sleeps, ceilings, strict=True))


def test_a_servers_wait_is_used_but_capped() -> None:
    time = FakeTime()
    attempt, _ = failing(1, wait=2.5)
    run(attempt, time, Retry(attempts=3, max_wait=30))
    assert time.sleeps == [2.5]
    time = FakeTime()
    attempt, _ = failing(1, wait=3600)
    run(attempt, time, Retry(attempts=3, max_wait=3))
    assert time.sleeps == [3.0]


def test_attempts_bound_the_loop_and_the_last_again_is_raised() -> None:
    time = FakeTime()
    attempt, calls = failing(100)
    with pytest.raises(Again, match="failure 4") as info:
        run(attempt, time, Retry(attempts=4))
    assert calls == [4] and info.value.attempts == 4
    assert len(time.sleeps) == 3


def test_the_deadline_bounds_the_loop_before_the_attempts_do() -> None:
    time = FakeTime()
    attempt, calls = failing(100, wait=0.5)
    with pytest.raises(Again) as info:
        run(attempt, time, Retry(attempts=10), seconds=1.2)
    # 0.5 + 0.5, then only what leaves the 0.05 s margin, then one last attempt
    assert time.sleeps == pytest.approx([0.5, 0.5, 0.15])
    assert calls == [4] and info.value.attempts == 4  # fewer than 10: time ran out


def test_other_errors_end_the_call_at_once() -> None:
    time = FakeTime()
    calls = [0]

    def attempt() -> str:
        calls[0] += 1
        raise DeadlinePassed("acme: calling", 1.0)

    with pytest.raises(DeadlinePassed):
        run(attempt, time, Retry(attempts=5))
    assert calls == [1] and time.sleeps == []
