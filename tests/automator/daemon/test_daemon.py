"""Daemon.run in-process: a fake engine, a simulated clock, the real HTTP server.

Time in these tests is the fake clock's: a wait of the daemon jumps to its deadline
once no reconcile is running, so intervals of minutes pass at once and every time a
test checks is exact. Nothing here sleeps or reads the wall clock; the threads are
followed through events the fakes raise.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from automator.daemon import Daemon, DaemonSettings, Reporter, Source, WebhookSettings
from automator.daemon.shards import UNSHARDED, Shard
from automator.engine import Outcome
from automator.errors import GitError, RegistryError
from automator.model import Plan
from automator.secrets import Secret

BOUND = 30.0  # real seconds a test waits for a thread before it fails; never a measurement
INTERVAL = 60.0
TOKEN = "hook-token-for-the-fake-clock"


class Watch:
    """Lets a test wait until a check holds, re-checking whenever a fake says something moved."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._moves = 0

    def poke(self) -> None:
        with self._cond:
            self._moves += 1
            self._cond.notify_all()

    def until(self, check: Callable[[], bool], what: str) -> None:
        while True:
            with self._cond:
                seen = self._moves
            if check():  # outside our lock: a check may take the daemon's
                return
            with self._cond:
                if self._moves == seen and not self._cond.wait(BOUND):
                    raise AssertionError(f"{what}: nothing moved for {BOUND}s")


class FakeClock:
    """Simulated monotonic time; a wait jumps to its deadline instead of sleeping.

    It jumps only when ``busy()`` is false (nothing running: only time can change the
    schedule) and the test does not ``hold`` it; else it waits for a notification.
    """

    def __init__(self, watch: Watch) -> None:
        self.time = 0.0
        self.busy: Callable[[], bool] = lambda: False
        self.held = False
        self.watch = watch
        self._conditions: set[threading.Condition] = set()

    def now(self) -> float:
        return self.time

    def wait(self, condition: threading.Condition, timeout: float | None) -> None:
        self._conditions.add(condition)
        self.watch.poke()
        if timeout is not None and not self.held and not self.busy():
            self.time += timeout
            return
        condition.wait(BOUND)  # a finish, a webhook, a stop or release() notifies it

    def release(self) -> None:
        """Let time move again."""
        self.held = False
        for condition in self._conditions:
            with condition:
                condition.notify_all()


Act = Callable[[str, int, threading.Event], Outcome | None]


class FakeEngine:
    """Satisfies automator.daemon.Engine; records each call and when (on the fake clock).

    ``act(name, call_number, cancel)`` may block, raise, or return an Outcome (None: an
    empty one). Each source's scan finds the image ``registry.test/<name>``.
    """

    def __init__(self, clock: FakeClock, sources: list[tuple[str, str]], act: Act) -> None:
        self.clock, self.act, self.watch = clock, act, clock.watch
        self.sources = [Source(name, remote) for name, remote in sources]
        self.calls: list[tuple[str, float]] = []
        self.returned: list[tuple[str, bool]] = []  # name, and whether cancel was set by then
        self.forgotten: list[frozenset[str]] = []
        self.cancel: threading.Event | None = None
        self._lock = threading.Lock()
        self.active: dict[str, str] = {}  # remote -> source reconciling it now
        self.overlaps: list[tuple[str, str]] = []

    def reconcile(self, name: str, *, cancel: threading.Event) -> Outcome:
        remote = next(s.remote for s in self.sources if s.name == name)
        with self._lock:
            self.cancel = cancel
            self.calls.append((name, self.clock.now()))
            number = sum(1 for n, _ in self.calls if n == name)
            if remote in self.active:
                self.overlaps.append((self.active[remote], name))
            self.active[remote] = name
        self.watch.poke()
        try:
            outcome = self.act(name, number, cancel)
        finally:
            with self._lock:
                del self.active[remote]
                self.returned.append((name, cancel.is_set()))
            self.watch.poke()
        return outcome or Outcome(name, Plan(), images=frozenset({f"registry.test/{name}"}))

    def forget(self, images: frozenset[str], tags: object = frozenset()) -> None:
        self.forgotten.append(images)

    def times(self, name: str) -> list[float]:
        return [t for n, t in self.calls if n == name]


class Notes:
    """A notifier that records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def notify(self, event: str, source: str, text: str, **details: object) -> None:
        self.sent.append((event, source, text))


class Running:
    """One Daemon.run in a thread, with its fakes; ``stop`` may be shared with an act."""

    def __init__(
        self,
        tmp_path: Path,
        sources: list[tuple[str, str]],
        act: Act,
        *,
        stop: threading.Event | None = None,
        workers: int = 4,
        seed: int = 7,
        jitter: float = 0.1,
        busy_aware: bool = True,
        shard: Shard = UNSHARDED,
    ) -> None:
        self.clock = FakeClock(Watch())
        self.engine = FakeEngine(self.clock, sources, act)
        self.notes = Notes()
        settings = DaemonSettings(
            interval=INTERVAL,
            jitter=jitter,
            listen=("127.0.0.1", 0),
            state_dir=tmp_path / "state",
            workers=workers,
            shutdown_timeout=25.0,
            shard=shard,
        )
        self.daemon = Daemon(
            self.engine,
            settings,
            Reporter(self.notes),
            webhooks=WebhookSettings(secret=Secret(TOKEN)),
            clock=self.clock,
            random=random.Random(seed),
        )
        if busy_aware:
            self.clock.busy = lambda: bool(self.daemon.running)
        self.stop = stop if stop is not None else threading.Event()
        self.ready = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.daemon.run(self.stop, self.ready)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self.clock.watch.poke()

    def until(self, check: Callable[[], bool], what: str) -> None:
        self.clock.watch.until(check, what)

    def finish(self) -> None:
        """Stop, and wait for run() to return."""
        self.stop.set()
        self.join()

    def join(self) -> None:
        """Wait for run() to return (an act sets ``stop``)."""
        self.thread.join(BOUND)
        assert not self.thread.is_alive(), "Daemon.run did not return"
        assert self.errors == []


Launch = Callable[..., Running]


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Start a Running (same arguments, less tmp_path), ``hold=True`` to keep time still."""
    runs: list[Running] = []

    def start(*args: Any, hold: bool = False, **kwargs: Any) -> Running:
        run = Running(tmp_path, *args, **kwargs)
        run.clock.held = hold
        runs.append(run)
        run.thread.start()
        assert run.ready.wait(BOUND)
        return run

    yield start
    for run in runs:  # a failed test must not leave a daemon serving
        run.stop.set()
        run.clock.release()
        run.thread.join(BOUND)


def draws(seed: int, count: int, jitter: float = 0.1) -> list[float]:
    """The factors ``random.Random(seed)`` gives the daemon, in order."""
    rng = random.Random(seed)
    return [rng.uniform(1 - jitter, 1 + jitter) for _ in range(count)]


def stop_at(stop: threading.Event, calls: int, error: Exception | None = None) -> Act:
    """An act that sets ``stop`` at call number ``calls``, and raises ``error`` if given."""

    def act(name: str, number: int, cancel: threading.Event) -> Outcome | None:
        if number == calls:
            stop.set()
        if error is not None:
            raise error
        return None

    return act


def test_each_source_waits_the_interval_with_jitter_from_the_injected_random(
    launch: Launch,
) -> None:
    stop = threading.Event()
    run = launch([("fleet", "git://x/fleet.git")], stop_at(stop, 4), stop=stop, seed=11)
    run.join()
    expected = [0.0]
    for factor in draws(11, 3):
        expected.append(expected[-1] + INTERVAL * factor)
    assert run.engine.times("fleet") == pytest.approx(expected)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize(
    ("error", "waits"),
    [
        (RegistryError("registry.test: 503; retrying", transient=True), [5, 10, 20, 40, 60, 60]),
        (GitError("fleet: push refused; give the token write access"), [60, 60, 60]),
    ],
    ids=["transient-backs-off", "permanent-waits-the-interval"],
)
def test_errors_back_off_or_wait_the_interval(
    launch: Launch, error: Exception, waits: list[float]
) -> None:
    stop = threading.Event()
    act = stop_at(stop, len(waits) + 1, error)
    run = launch([("fleet", "git://x/fleet.git")], act, stop=stop, jitter=0.2, seed=3)
    run.join()
    factors = draws(3, len(waits), jitter=0.2)
    expected = [w * f for w, f in zip(waits, factors, strict=True)]
    assert gaps(run.engine.times("fleet")) == pytest.approx(expected)
    failures = [n for n in run.notes.sent if n[0] == "failure"]
    assert len(failures) == len(waits) + 1


def test_a_webhook_while_idle_rescans_only_the_sources_of_its_image(launch: Launch) -> None:
    sources = [("api", "git://x/api.git"), ("web", "git://x/web.git")]
    run = launch(sources, lambda n, c, e: None, hold=True)  # time stands still
    run.until(lambda: run.daemon.ready_problems() == [], "ready after the first scans")
    assert sorted(run.engine.calls) == [("api", 0.0), ("web", 0.0)]

    assert run.daemon.address is not None
    host, port = run.daemon.address
    hook = f"http://{host}:{port}/webhook/generic?token={TOKEN}"
    answer = requests.post(hook, json={"image": "registry.test/api", "tag": "2"}, timeout=BOUND)
    assert answer.status_code == 202, answer.text
    assert answer.json()["sources"] == ["api"]
    run.until(lambda: len(run.engine.returned) == 3, "the rescan of api")
    assert run.engine.calls[2] == ("api", 0.0)  # at once, not at the next interval
    assert run.engine.forgotten == [frozenset({"registry.test/api"})]
    assert run.daemon.trigger(frozenset({"registry.test/unused"})) == []
    run.finish()
    assert len(run.engine.calls) == 3


def test_a_webhook_while_running_means_again_and_before_a_scan_names_every_source(
    launch: Launch,
) -> None:
    stop, entered, proceed = threading.Event(), threading.Event(), threading.Event()

    def act(name: str, number: int, cancel: threading.Event) -> Outcome | None:
        if number == 1:
            entered.set()
            assert proceed.wait(BOUND)
        else:
            stop.set()
        return None

    run = launch([("fleet", "git://x/fleet.git")], act, stop=stop)
    assert entered.wait(BOUND)
    # its first scan has not finished: any image may be one of its own
    assert run.daemon.trigger(frozenset({"registry.test/anything"})) == ["fleet"]
    proceed.set()
    run.join()
    assert run.engine.times("fleet") == [0.0, 0.0]  # again at once, not after the interval


def test_sources_on_one_remote_never_run_at_once(launch: Launch) -> None:
    stop, other_entered = threading.Event(), threading.Event()

    def act(name: str, number: int, cancel: threading.Event) -> Outcome | None:
        if name == "other":
            other_entered.set()
        if name == "first":  # keep the remote until a source of another remote runs too
            assert other_entered.wait(BOUND)
        if name == "second":
            stop.set()
        return None

    sources = [
        ("first", "git://x/fleet.git"),
        ("second", "git://x/fleet.git"),
        ("other", "git://x/other.git"),
    ]
    run = launch(sources, act, stop=stop, workers=3)
    run.join()
    names = [n for n, _ in run.engine.calls]
    assert names.index("other") < names.index("second")
    assert run.engine.returned.index(("first", False)) < names.index("second")
    assert run.engine.overlaps == []
    assert run.engine.times("second") == [0.0]


class Gate:
    """An act that holds every call until ``proceed`` is set; ``entered`` once one is in."""

    def __init__(self, commit: str | None = None) -> None:
        self.entered, self.proceed, self.commit = threading.Event(), threading.Event(), commit

    def __call__(self, name: str, number: int, cancel: threading.Event) -> Outcome | None:
        self.entered.set()
        assert self.proceed.wait(BOUND)
        return Outcome(name, Plan(sites=1), commit=self.commit) if self.commit else None


def test_stop_starts_no_reconcile_and_waits_for_the_one_running(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="automator")
    gate = Gate(commit="c0ffee" * 6)
    sources = [("first", "git://x/first.git"), ("queued", "git://x/queued.git")]
    run = launch(sources, gate, workers=1)
    assert gate.entered.wait(BOUND)
    run.stop.set()
    run.until(lambda: run.engine.cancel is not None and run.engine.cancel.is_set(), "cancel")
    gate.proceed.set()  # the write in progress finishes
    run.finish()
    assert run.engine.calls == [("first", 0.0)]  # "queued" never started
    assert run.engine.returned == [("first", True)]
    assert ("commit", "first") in [(e, s) for e, s, _ in run.notes.sent]
    messages = [r.getMessage() for r in caplog.records]
    assert f"first: pushed commit {'c0ffee' * 6}" in messages
    assert "stopped" in messages
    assert not any(m.startswith("abandoning") for m in messages)
    assert run.clock.now() == 0.0  # the shutdown timeout never ran out


def test_stop_abandons_a_reconcile_after_the_shutdown_timeout(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="automator")
    gate = Gate()
    # the clock moves even while the stuck reconcile runs, as real time would
    run = launch([("stuck", "git://x/stuck.git")], gate, busy_aware=False)
    assert gate.entered.wait(BOUND)
    run.finish()
    assert run.clock.now() == 25.0  # the whole shutdown timeout, on the fake clock
    messages = [r.getMessage() for r in caplog.records]
    assert "abandoning stuck after 25s; no write of theirs was interrupted by us" in messages
    assert messages[-1] == "stopped"
    gate.proceed.set()
    run.until(lambda: run.engine.returned == [("stuck", True)], "the abandoned reconcile ends")


def test_not_ready_before_the_first_reconcile_or_without_a_writable_state_dir(
    tmp_path: Path,
) -> None:
    run = Running(tmp_path, [("fleet", "git://x/fleet.git")], lambda n, c, e: None)
    problems = run.daemon.ready_problems()  # never run: state_dir was not created
    assert problems[0].startswith(f"state_dir {tmp_path / 'state'} is not writable: ")
    assert problems[1:] == ["fleet: first reconcile not finished"]


def test_an_unexpected_error_is_logged_with_its_message_not_only_its_class(
    launch: Launch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="automator")
    stop = threading.Event()
    act = stop_at(stop, 1, RuntimeError("corrupted packed references file"))
    run = launch([("fleet", "git://x/fleet.git")], act, stop=stop)
    run.join()
    reported = [r.getMessage() for r in caplog.records if r.name == "automator.daemon.report"]
    assert reported == ["fleet: unexpected RuntimeError: corrupted packed references file"]
