"""Token buckets per host: a burst goes out unpaced, a long run is paced, 429s still halve.

Every bound is proven by counting the sleeps the budget asks of a fake clock.
"""

from __future__ import annotations

import pytest

from automator.errors import RegistryError
from automator.http import Deadline
from automator.registry.budget import HostBudget
from automator.registry.settings import RegistrySettings
from tests.faketime import FakeTime


def budget(time: FakeTime, rate: float = 20.0, burst: int = 200) -> HostBudget:
    return HostBudget(rate, 4, "bucket.test", burst=burst, clock=time.clock, sleep=time.sleep)


def send(b: HostBudget, time: FakeTime, count: int) -> None:
    deadline = Deadline(3600, "bucket.test/acme/app: listing tags", time.clock)
    for _ in range(count):
        with b.slot(deadline):
            pass


def test_a_burst_is_not_paced() -> None:
    time = FakeTime()
    send(budget(time), time, 200)
    assert time.sleeps == []


def test_past_the_burst_requests_are_spaced_at_the_rate() -> None:
    time = FakeTime()
    send(budget(time, rate=20.0, burst=10), time, 30)
    assert len(time.sleeps) == 20
    assert time.sleeps == pytest.approx([0.05] * 20)


def test_the_bucket_refills_while_the_host_is_quiet() -> None:
    time = FakeTime()
    b = budget(time, rate=10.0, burst=5)
    send(b, time, 5)
    time.sleep(0.5)  # five tokens back
    time.sleeps.clear()
    send(b, time, 5)
    assert time.sleeps == []
    send(b, time, 1)
    assert time.sleeps == pytest.approx([0.1])


def test_burst_one_is_even_spacing() -> None:
    time = FakeTime()
    send(budget(time, rate=4.0, burst=1), time, 3)
    assert time.sleeps == pytest.approx([0.25, 0.25])


def test_no_rate_limit_never_waits() -> None:
    time = FakeTime()
    send(budget(time, rate=0.0, burst=1), time, 1000)
    assert time.sleeps == []


def test_a_429_empties_the_bucket_holds_and_halves() -> None:
    time = FakeTime()
    b = budget(time, rate=20.0, burst=200)
    send(b, time, 10)
    b.slow_down(2.0)  # Retry-After: 2
    assert b.rate == 10.0
    send(b, time, 3)
    # held for the Retry-After, then paced at the halved rate: no burst right after a 429
    assert time.sleeps == pytest.approx([2.0, 0.1, 0.1])
    for _ in range(50):
        b.recover()
    assert b.rate == 20.0


def test_a_wait_past_the_deadline_fails_and_returns_the_token() -> None:
    time = FakeTime()
    b = budget(time, rate=1.0, burst=1)
    send(b, time, 1)
    short = Deadline(0.5, "bucket.test/acme/app: resolving the digest", time.clock)
    refused = pytest.raises(RegistryError, match="raise requests_per_second or burst")
    with refused as info, b.slot(short):
        pass
    assert info.value.transient
    assert b.tokens == pytest.approx(0.0)  # the refused request spent nothing


def test_shipped_defaults_leave_an_ordinary_cycle_unpaced() -> None:
    """50 repositories: a tag listing and a digest each, on the shipped defaults."""
    defaults = RegistrySettings("registry.test")
    time = FakeTime()
    b = HostBudget(
        defaults.requests_per_second,
        defaults.max_concurrency,
        burst=defaults.burst,
        clock=time.clock,
        sleep=time.sleep,
    )
    send(b, time, 2 * 50)
    assert time.sleeps == []
