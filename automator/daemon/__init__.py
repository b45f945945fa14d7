"""``automator run``: every source on its own schedule, webhooks, probes, clean stop.

A scheduler thread hands due sources (see :mod:`.schedule`) to a small pool of
worker threads; a source is never reconciled twice at once, and sources that share
a remote (and so a bare clone) take turns. The HTTP server (:mod:`.server`) serves
probes, metrics and webhooks; a webhook makes the sources that use a named image due
now. Sharded (``DaemonSettings.shard``), a daemon reconciles only the sources its shard
owns (:mod:`.shards`) and forwards each webhook to the replicas whose sources use the
named images (:mod:`.forward`, :mod:`.peers`).
:mod:`.report` logs, counts and notifies what each reconcile did.

Stopping (``stop`` set, e.g. by SIGTERM): no reconcile starts, no new write starts
(a reconcile still scanning raises ``Cancelled`` before it writes), a write in
progress is waited for, and after ``shutdown_timeout`` seconds whatever is still
running is abandoned. A Git push is a compare-and-swap on the remote, so even an
abandoned process leaves the remote at the old or the new commit, never between.

The daemon knows nothing of automator.yaml: it is given an :class:`Engine`, plain
settings, a :class:`Reporter`, and the clock and random seams.
"""

from __future__ import annotations

import logging
import queue
import random as _random
import threading
import traceback
from collections.abc import Sequence
from typing import Protocol

from automator import metrics
from automator.daemon.clock import Clock, SystemClock
from automator.daemon.forward import Forwarder
from automator.daemon.report import Reporter
from automator.daemon.schedule import Random, Schedule
from automator.daemon.server import Server
from automator.daemon.settings import DaemonSettings, WebhookSettings
from automator.daemon.status import SourceStatus, StatusBoard
from automator.engine import Outcome
from automator.engine import SourceSettings as Source
from automator.errors import AutomatorError, Cancelled, ConfigError
from automator.git import STATE_DIR_HINT, state_dir_problem

__all__ = [
    "Clock",
    "Daemon",
    "DaemonSettings",
    "Engine",
    "Reporter",
    "Source",
    "SystemClock",
    "WebhookSettings",
]

logger = logging.getLogger(__name__)


class Engine(Protocol):
    """What the daemon asks of the engine."""

    @property
    def sources(self) -> Sequence[Source]:
        """Every source, in config order."""

    def reconcile(self, name: str, *, cancel: threading.Event) -> Outcome:
        """Reconcile one source; once ``cancel`` is set no write starts (raises Cancelled).

        Raises AutomatorError; its ``transient`` says whether a retry soon can help.
        """

    def forget(
        self, images: frozenset[str], tags: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        """A webhook says the tag listings of ``images``, and the digests of ``tags``
        ((repository, tag) pairs), are stale."""


class Daemon:
    """Runs until ``stop`` is set; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        settings: DaemonSettings,
        reporter: Reporter,
        *,
        webhooks: WebhookSettings | None = None,
        clock: Clock | None = None,
        random: Random | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.reporter = reporter
        self.webhooks = webhooks
        self.address: tuple[str, int] | None = None  # where the HTTP server listens, once it does
        self.clock: Clock = clock if clock is not None else SystemClock()
        sources = list(engine.sources)
        names = [s.name for s in sources]
        if len(set(names)) < len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(f"sources: {', '.join(twice)} named twice; give each its own name")
        mine = [s for s in sources if settings.shard.owns(s.name, s.remote)]
        self.owned = [s.name for s in mine]  # the sources this replica reconciles
        self._schedule = Schedule(
            ((s.name, s.remote) for s in mine),
            interval=settings.interval,
            jitter=settings.jitter,
            now=self.clock.now(),
            random=random if random is not None else _random.Random(),
            max_failures=settings.unready_after_failures,
        )
        self.board = StatusBoard(
            self.owned
        )  # what ``/`` and ``/status`` show: this shard's sources
        self._workers = max(1, min(settings.workers, len(self.owned)))
        self._cond = threading.Condition()
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._cancel = threading.Event()

    # -- what the HTTP server asks ------------------------------------------------

    def trigger(
        self, images: frozenset[str], tags: frozenset[tuple[str, str]] = frozenset()
    ) -> list[str]:
        """Make every source that uses one of ``images`` due now; return their names.

        ``tags`` ((repository, tag) pairs the webhook named) lose their cached digests.
        """
        self.engine.forget(images, tags)
        with self._cond:
            names = self._schedule.trigger(images, self.clock.now())
            self._cond.notify_all()
        return names

    def images(self) -> frozenset[str] | None:
        """The images this replica's sources used at their last scan (``/peer/images``);
        None while one of them has not been scanned."""
        with self._cond:
            return self._schedule.images()

    def ready_problems(self) -> list[str]:
        """Why the daemon is not ready; empty when it is."""
        problems = []
        if problem := state_dir_problem(self.settings.state_dir):
            problems.append(problem)
        with self._cond:
            problems += self._schedule.problems(self.clock.now())
        return problems

    def status(self) -> tuple[SourceStatus, ...]:
        """Every source's last reconcile, Sites and next reconcile (Unix time)."""
        with self._cond:
            now, dues, running = (
                self.clock.now(),
                self._schedule.due_times(),
                self._schedule.running,
            )
        wall = self.board.wall()
        return self.board.sources(
            {n: wall + max(0.0, due - now) for n, due in dues.items()}, running
        )

    def ownership(self) -> str:
        """What /readyz says of the sources this replica owns: one line."""
        shard, total = self.settings.shard, len(self.engine.sources)
        names = ", ".join(self.owned) or "none"
        return f"shard {shard} owns {len(self.owned)} of {total} sources: {names}\n"

    @property
    def running(self) -> list[str]:
        """The sources being reconciled (or handed to a worker) now."""
        with self._cond:
            return self._schedule.running

    @property
    def busy(self) -> list[str]:
        """The sources reconciling now or due to start; empty when the daemon is idle."""
        with self._cond:
            return self._schedule.busy(self.clock.now())

    # -- the loop -----------------------------------------------------------------

    def run(self, stop: threading.Event, ready: threading.Event | None = None) -> None:
        """Serve and reconcile until ``stop`` is set; ``ready`` is set once listening."""
        state_dir, (host, port) = self.settings.state_dir, self.settings.listen
        if problem := state_dir_problem(state_dir, create=True):  # /readyz says so until fixed
            logger.error("%s; %s", problem, STATE_DIR_HINT)
        secret = self.webhooks.secret if self.webhooks is not None else None
        try:
            server = Server(
                (host, port), self, self.webhooks, secret, status=self, owned=self.ownership(),
                forwarder=self._forwarder(), images=self.images, shard=self.settings.shard,
            )  # fmt: skip
        except OSError as exc:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ConfigError(f"listen {shown}: {exc.strerror}; choose a free address") from exc
        bound_host, bound_port = server.server_address[:2]
        self.address = (str(bound_host), int(bound_port))
        server.start()
        metrics.SOURCES_BUSY.set_function(lambda: len(self.busy))
        metrics.report_shard(str(self.settings.shard), self.owned)
        threads = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in threads:
            thread.start()
        threading.Thread(target=self._wake_on, args=(stop,), name="stop", daemon=True).start()
        logger.info(
            "listening on %s:%d; %d sources every %s",
            *self.address,
            len(self.owned),
            _duration(self.settings.interval),
        )
        if self.settings.shard.count > 1:
            logger.info("%s", self.ownership().rstrip())
        if ready is not None:
            ready.set()
        try:
            self._dispatch(stop)
        finally:
            self._stop(server, threads)

    def _forwarder(self) -> Forwarder | None:
        hooks = self.webhooks
        if hooks is None or not hooks.peers:
            return None
        return Forwarder(hooks.peers, hooks.secret, self.settings.shard)

    def _wake_on(self, stop: threading.Event) -> None:
        # ``stop`` is set by a signal handler or a test; waits are on the condition alone
        stop.wait()
        with self._cond:
            self._cond.notify_all()

    def _dispatch(self, stop: threading.Event) -> None:
        with self._cond:
            while not stop.is_set():
                now = self.clock.now()
                for name in self._schedule.take_due(now):
                    self._queue.put(name)
                due = self._schedule.next_due()
                self.clock.wait(self._cond, None if due is None else max(due - now, 0.0))

    def _stop(self, server: Server, threads: list[threading.Thread]) -> None:
        logger.info("stopping: no new reconcile or write starts")
        self._cancel.set()
        server.shutdown()
        server.server_close()
        for _ in threads:
            self._queue.put(None)
        timeout = self.settings.shutdown_timeout
        with self._cond:
            deadline = self.clock.now() + timeout
            while busy := self._schedule.running:
                left = deadline - self.clock.now()
                if left <= 0:
                    logger.warning(
                        "abandoning %s after %.0fs; no write of theirs was interrupted by us",
                        ", ".join(busy),
                        timeout,
                    )
                    break
                self.clock.wait(self._cond, left)
        logger.info("stopped")

    def _work(self) -> None:
        while (name := self._queue.get()) is not None:
            if self._cancel.is_set():
                with self._cond:
                    self._schedule.release(name)
                    self._cond.notify_all()
                continue
            self._reconcile(name)

    # -- one reconcile ------------------------------------------------------------

    def _reconcile(self, name: str) -> None:
        started, started_wall = self.clock.now(), self.board.wall()
        images: frozenset[str] | None = None
        error: AutomatorError | None = None
        try:
            outcome = self.engine.reconcile(name, cancel=self._cancel)
            images = outcome.images
            self.reporter.reconciled(outcome)
            self.board.reconciled(outcome, started_wall, self.clock.now() - started)
        except Cancelled as exc:
            logger.info("%s", exc)
        except AutomatorError as exc:
            error = exc
        except Exception as exc:  # a bug must not kill the worker or the other sources
            logger.exception("%s: unexpected error", name)
            error = AutomatorError(f"unexpected {type(exc).__name__}: {exc}", transient=True)
        self.reporter.took(name, self.clock.now() - started)
        if error is not None:
            self.reporter.failed(name, error)
            self.board.failed(name, error, started_wall, self.clock.now() - started)
            _let_go(error)
        with self._cond:
            self._schedule.finish(name, self.clock.now(), images=images, error=error)
            self._cond.notify_all()


def _let_go(error: BaseException) -> None:
    """Cut ``error`` and its causes from their frames: a traceback keeps every local of
    the failed reconcile (a clone's libgit2 handle, a snapshot) alive, and the frame that
    caught it keeps the traceback, a cycle only the garbage collector would break."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)
            exc.__traceback__ = None
        todo += [e for e in (exc.__cause__, exc.__context__) if e is not None]


def _duration(seconds: float) -> str:
    """``5400`` -> ``1h30m``; ``90`` -> ``1m30s``."""
    whole = round(seconds)
    hours, minutes, secs = whole // 3600, whole // 60 % 60, whole % 60
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or f"{seconds:g}s"
