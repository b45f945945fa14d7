"""Waiting for a host's budget (our pace, or a 429's Retry-After) is counted in /metrics."""

from __future__ import annotations

from automator import metrics
from automator.http import Deadline
from automator.registry.budget import HostBudget


def waits(host: str) -> tuple[float, float]:
    labels = {"host": host}
    count = metrics.REGISTRY.get_sample_value("automator_rate_limit_waits_total", labels)
    seconds = metrics.REGISTRY.get_sample_value("automator_rate_limit_wait_seconds_total", labels)
    return count or 0.0, seconds or 0.0


def test_paced_and_held_requests_are_counted() -> None:
    budget = HostBudget(20, 2, "budget.test")
    deadline = Deadline(10, "budget.test/acme/app: listing tags")
    with budget.slot(deadline):
        pass
    assert waits("budget.test") == (0.0, 0.0), "the first request never waits"
    budget.slow_down(0.2)  # a 429 with Retry-After: 0.2
    with budget.slot(deadline):
        pass
    count, seconds = waits("budget.test")
    assert count == 1
    assert 0.15 < seconds <= 0.25
    assert budget.rate == 10, "the rate was halved"
