"""The schedule alone: due times, backoff, webhooks, remotes, readiness; no threads."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automator.daemon.schedule import BACKOFF_BASE, STALE_CYCLES, Schedule
from automator.errors import AutomatorError, GitError, RegistryError

INTERVAL = 60.0
TRANSIENT = RegistryError("registry.test/acme/api: 503 listing tags; retrying", transient=True)
PERMANENT = GitError("fleet: push refused; give the token write access")


class Draws:
    """A stand-in for ``random.Random`` that hands out given factors and counts them."""

    def __init__(self, *factors: float) -> None:
        self.factors = list(factors)
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return self.factors.pop(0) if self.factors else 1.0


def schedule(
    *sources: tuple[str, str], jitter: float = 0.0, draws: Draws | None = None
) -> Schedule:
    return Schedule(
        sources or [("fleet", "git://x/fleet.git")],
        interval=INTERVAL,
        jitter=jitter,
        now=0.0,
        random=draws or Draws(),
    )


def test_every_source_is_due_at_the_start_then_after_the_jittered_interval() -> None:
    draws = Draws(0.9, 1.1)
    s = schedule(("a", "git://x/a.git"), ("b", "git://x/b.git"), jitter=0.1, draws=draws)
    assert s.take_due(0.0) == ["a", "b"]
    assert s.take_due(0.0) == []  # never twice at once
    assert s.next_due() is None  # both running: only a finish can change anything
    s.finish("a", 2.0, images=frozenset())
    s.finish("b", 3.0, images=frozenset())
    assert draws.asked == [(0.9, 1.1), (0.9, 1.1)]
    assert s.next_due() == pytest.approx(2.0 + 0.9 * INTERVAL)
    assert s.take_due(2.0 + 0.9 * INTERVAL) == ["a"]
    assert s.next_due() == pytest.approx(3.0 + 1.1 * INTERVAL)


def run_failures(errors: list[AutomatorError | None], draws: Draws) -> list[float]:
    """Finish one reconcile per entry of ``errors`` as soon as it is due; the waits between."""
    s, now, waits = schedule(jitter=0.2, draws=draws), 0.0, []
    for error in errors:
        assert s.take_due(now) == ["fleet"]
        s.finish("fleet", now, error=error)
        due = s.next_due()
        assert due is not None
        waits.append(due - now)
        now = due
    return waits


def test_transient_errors_back_off_doubling_from_the_base_capped_at_the_interval() -> None:
    factors = [1.2, 0.8, 1.0, 1.1, 0.9, 1.0, 1.0, 1.0]
    waits = run_failures([TRANSIENT] * 6 + [None, TRANSIENT], Draws(*factors))
    base = [BACKOFF_BASE, 10.0, 20.0, 40.0, INTERVAL, INTERVAL, INTERVAL, BACKOFF_BASE]
    assert waits == pytest.approx([b * f for b, f in zip(base, factors, strict=True)])


def test_a_permanent_error_waits_the_interval() -> None:
    # permanent errors count as failures too: the transient one after them backs off 5 * 2**2
    assert run_failures([PERMANENT, PERMANENT, TRANSIENT], Draws()) == [60.0, 60.0, 20.0]


def test_a_webhook_makes_the_sources_that_use_an_image_due_or_due_again() -> None:
    s = schedule(("a", "git://x/a.git"), ("b", "git://x/b.git"), ("c", "git://x/c.git"))
    assert s.take_due(0.0) == ["a", "b", "c"]
    # before a source's first scan every webhook names it
    assert s.trigger(frozenset({"registry.test/other"}), 1.0) == ["a", "b", "c"]
    s.finish("a", 1.0, images=frozenset({"registry.test/api"}))  # "again": due at once
    assert s.take_due(1.0) == ["a"]
    s.finish("a", 2.0, images=frozenset({"registry.test/api"}))
    s.finish("b", 2.0, images=frozenset({"registry.test/web"}))
    s.finish("c", 2.0, error=TRANSIENT)  # raised before its scan: still named by every webhook
    assert s.take_due(2.0) == ["b", "c"]  # b was asked again while running; c too
    s.finish("b", 2.0, images=frozenset({"registry.test/web"}))
    s.finish("c", 2.0, images=frozenset({"registry.test/api"}))
    assert s.trigger(frozenset({"registry.test/api"}), 10.0) == ["a", "c"]
    assert s.take_due(10.0) == ["a", "c"]
    s.finish("a", 11.0, error=TRANSIENT)  # a failed reconcile keeps the images it had
    assert s.trigger(frozenset({"registry.test/api"}), 12.0) == ["a", "c"]


def test_sources_on_one_remote_take_turns_oldest_due_first() -> None:
    s = schedule(("a", "git://x/fleet.git"), ("b", "git://x/fleet.git"), ("c", "git://x/c.git"))
    assert s.take_due(0.0) == ["a", "c"]
    assert s.next_due() is None  # b is due but waits for a's remote
    s.trigger(frozenset({"registry.test/api"}), 1.0)
    s.finish("a", 1.0, images=frozenset())  # a is due again at once, but b waited longer
    assert s.take_due(1.0) == ["b"]
    s.finish("b", 1.0, images=frozenset())
    assert s.take_due(1.0) == ["a"]


@given(
    remotes=st.lists(st.sampled_from("xyz"), min_size=1, max_size=8),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.floats(0, 200)), max_size=40),
)
def test_never_two_reconciles_on_one_remote(
    remotes: list[str], steps: list[tuple[bool, int, float]]
) -> None:
    s = Schedule(
        [(f"s{i}", r) for i, r in enumerate(remotes)],
        interval=INTERVAL,
        jitter=0.1,
        now=0.0,
        random=random.Random(0),
    )
    now = 0.0
    for finish, index, later in steps:
        now += later
        running = s.running
        if finish and running:
            s.finish(running[index % len(running)], now, images=frozenset())
        s.take_due(now)
        busy = [remotes[int(name[1:])] for name in s.running]
        assert len(busy) == len(set(busy))
        due = s.next_due()
        assert due is None or due > now


def test_release_leaves_the_schedule_as_it_was() -> None:
    s = schedule()
    assert s.take_due(0.0) == ["fleet"]
    s.release("fleet")  # stopping: handed out, never reconciled
    assert s.running == []
    assert s.next_due() == 0.0
    assert s.problems(0.0) == ["fleet: first reconcile not finished"]


def test_readiness_problems() -> None:
    s = schedule(("a", "git://x/a.git"), ("b", "git://x/b.git"))
    assert s.problems(0.0) == ["a: first reconcile not finished", "b: first reconcile not finished"]
    s.take_due(0.0)
    s.finish("a", 10.0, images=frozenset())
    s.finish("b", 10.0, error=PERMANENT)  # a failed reconcile still finished
    stale = 10.0 + STALE_CYCLES * INTERVAL
    assert s.problems(stale) == []
    assert s.problems(stale + 1) == ["a: no reconcile for 181s", "b: no reconcile for 181s"]


def test_busy_is_running_due_or_asked_again_and_empty_when_idle() -> None:
    s = schedule(("a", "git://x/a.git"), ("b", "git://x/a.git"))  # one remote: they take turns
    assert s.busy(0.0) == ["a", "b"]  # both due at the start
    assert s.take_due(0.0) == ["a"]
    assert s.busy(0.0) == ["a", "b"]  # b waits for the remote
    s.finish("a", 1.0, images=frozenset({"reg.test/acme/api"}))
    assert s.take_due(1.0) == ["b"]
    assert s.trigger(frozenset({"reg.test/acme/api"}), 1.5) == ["a", "b"]  # b not scanned yet
    s.finish("b", 2.0, images=frozenset({"reg.test/acme/web"}))
    assert s.busy(2.0) == ["a", "b"]  # a due by the webhook, b asked again while it ran
    assert s.take_due(2.0) == ["a"]
    s.finish("a", 3.0, images=frozenset({"reg.test/acme/api"}))
    assert s.take_due(3.0) == ["b"]
    s.finish("b", 4.0, images=frozenset({"reg.test/acme/web"}))
    assert s.busy(4.0) == []  # both wait their interval now
    assert s.trigger(frozenset({"reg.test/acme/web"}), 5.0) == ["b"]
    assert s.busy(5.0) == ["b"]


@pytest.mark.parametrize("max_failures", [1, 3])
def test_not_ready_after_max_failures_in_a_row_naming_the_last_error(max_failures: int) -> None:
    s = Schedule(
        [("fleet", "git://x/fleet.git")],
        interval=INTERVAL,
        jitter=0.0,
        now=0.0,
        random=Draws(),
        max_failures=max_failures,
    )
    now = 0.0
    for failed in range(1, max_failures + 1):
        assert s.problems(now) == ([] if failed > 1 else ["fleet: first reconcile not finished"])
        assert s.take_due(now) == ["fleet"]
        now += 1.0
        s.finish("fleet", now, error=TRANSIENT if failed % 2 else PERMANENT)
        now = s.next_due() or now
    last = TRANSIENT if max_failures % 2 else PERMANENT
    assert s.problems(now) == [f"fleet: {max_failures} reconciles in a row failed: {last}"]
    s.take_due(now)
    s.finish("fleet", now + 1, images=frozenset())  # one success makes it ready again
    assert s.problems(now + 1) == []


def test_the_default_is_three_failures_in_a_row() -> None:
    s = schedule()
    for now in (0.0, 10.0):
        s.take_due(now)
        s.finish("fleet", now + 1, error=TRANSIENT)
    assert s.problems(20.0) == []
    s.take_due(20.0)
    s.finish("fleet", 21.0, error=TRANSIENT)
    assert s.problems(21.0) == [f"fleet: 3 reconciles in a row failed: {TRANSIENT}"]


def test_due_times_name_every_source_not_running() -> None:
    s = schedule(("fleet", "git://x/fleet.git"), ("other", "git://x/other.git"))
    assert s.due_times() == {"fleet": 0.0, "other": 0.0}
    assert s.take_due(0.0) == ["fleet", "other"]
    assert s.due_times() == {}
    s.finish("fleet", 5.0)
    assert s.due_times() == {"fleet": 5.0 + INTERVAL}
