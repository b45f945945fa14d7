"""``automator run``: every source on its own schedule, webhooks, probes, clean stop.

A scheduler thread hands due sources to a small pool of worker threads; a source
is never reconciled twice at once, and sources that share a Git URL (and so a bare
clone) take turns. Each source waits ``interval * (1 +- jitter)`` after a
reconcile, or a jittered exponential backoff (capped at the interval) after a
transient error. A webhook makes every source that uses a named image due now;
before a source's first scan every webhook makes it due.

Stopping (``stop`` set, e.g. by SIGTERM): no reconcile starts, no new write starts
(a reconcile still scanning raises ``Cancelled`` before it writes), a write in
progress is waited for, and after ``shutdown_timeout`` seconds whatever is still
running is abandoned. A Git push is a compare-and-swap on the remote, so even an
abandoned process leaves the remote at the old or the new commit, never between.
"""

from __future__ import annotations

import logging
import queue
import random
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from automator import metrics
from automator.adapters import open_repo, registry_client
from automator.catalog import RegistryCatalog
from automator.config import Config, Source, parse_listen
from automator.daemon.server import Server
from automator.engine import Outcome, Reconciler
from automator.errors import AutomatorError, Cancelled, ConfigError
from automator.logs import register_secret
from automator.notify import Notifier
from automator.secrets import Secret, secret_from

logger = logging.getLogger(__name__)

BACKOFF_BASE = 5.0  # seconds after the first transient failure; doubles, capped at the interval
TICK = 0.5  # longest the scheduler sleeps before it looks at ``stop`` again
STALE_CYCLES = 3  # /readyz fails when a source has not finished a reconcile in this many intervals


@dataclass
class _Schedule:
    """The mutable schedule of one source; guarded by the daemon's condition."""

    source: Source
    due: float
    running: bool = False
    again: bool = False  # a webhook arrived while it was running
    failures: int = 0
    images: frozenset[str] | None = None  # None until the first scan finished
    finished: float | None = None  # monotonic time of the last finished reconcile


class Daemon:
    """Runs until ``stop`` is set; see the module docstring."""

    def __init__(
        self,
        config: Config,
        state_dir: Path,
        *,
        workers: int = 4,
        shutdown_timeout: float = 25.0,
        notifier: Notifier | None = None,
    ) -> None:
        self.config = config
        self.state_dir = Path(state_dir)
        self.shutdown_timeout = shutdown_timeout
        self.interval = float(max(1, config.interval_seconds))
        self.notifier = notifier if notifier is not None else Notifier(config.notifications)
        self.address: tuple[str, int] | None = None  # where the HTTP server listens, once it does
        self._workers = max(1, min(workers, len(config.sources)))
        self._secret = _webhook_secret(config)
        now = time.monotonic()
        self._schedules = [_Schedule(source, due=now) for source in config.sources]
        self._cond = threading.Condition()
        self._queue: queue.SimpleQueue[_Schedule | None] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._repo_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
        session = requests.Session()
        session.hooks["response"].append(_count_request)
        # one client and one catalog for all workers: each repository is listed once
        # per half interval however many sources use it, and a webhook evicts what it names
        self._registry = registry_client(config, self.state_dir, session=session)
        self._catalog = RegistryCatalog(self._registry, max_age=self.interval / 2)

    # -- what the HTTP server asks ------------------------------------------------

    def trigger(self, images: frozenset[str]) -> list[str]:
        """Make every source that uses one of ``images`` due now; return their names."""
        names = []
        self._catalog.forget(images)
        with self._cond:
            for schedule in self._schedules:
                if schedule.images is not None and not schedule.images & images:
                    continue
                names.append(schedule.source.name)
                if schedule.running:
                    schedule.again = True
                else:
                    schedule.due = time.monotonic()
            self._cond.notify_all()
        return names

    def ready_problems(self) -> list[str]:
        """Why the daemon is not ready; empty when it is."""
        problems = []
        try:
            with tempfile.TemporaryFile(dir=self.state_dir):
                pass
        except OSError as exc:
            problems.append(f"state_dir {self.state_dir} is not writable: {exc.strerror}")
        now = time.monotonic()
        with self._cond:
            for schedule in self._schedules:
                if schedule.finished is None:
                    problems.append(f"{schedule.source.name}: first reconcile not finished")
                elif now - schedule.finished > STALE_CYCLES * self.interval:
                    age = now - schedule.finished
                    problems.append(f"{schedule.source.name}: no reconcile for {age:.0f}s")
        return problems

    # -- the loop -----------------------------------------------------------------

    def run(self, stop: threading.Event, ready: threading.Event | None = None) -> None:
        """Serve and reconcile until ``stop`` is set; ``ready`` is set once listening."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"state_dir {self.state_dir}: cannot create it ({exc.strerror})"
            ) from None
        host, port = parse_listen(self.config.listen)
        try:
            server = Server((host, port), self, self.config.webhooks, self._secret)
        except OSError as exc:
            raise ConfigError(
                f"listen {self.config.listen}: {exc.strerror}; choose a free address"
            ) from None
        bound_host, bound_port = server.server_address[:2]
        self.address = (str(bound_host), int(bound_port))
        server.start()
        threads = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in threads:
            thread.start()
        logger.info(
            "listening on %s:%d; %d sources every %s",
            *self.address[:2],
            len(self._schedules),
            self.config.interval,
        )
        if ready is not None:
            ready.set()
        try:
            self._schedule(stop)
        finally:
            self._stop(server, threads)

    def _schedule(self, stop: threading.Event) -> None:
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                for schedule in self._schedules:
                    if not schedule.running and schedule.due <= now:
                        schedule.running = True
                        self._queue.put(schedule)
                waiting = [s.due for s in self._schedules if not s.running]
                timeout = min([TICK, *(due - now for due in waiting)])
                self._cond.wait(max(timeout, 0.0))

    def _stop(self, server: Server, threads: list[threading.Thread]) -> None:
        logger.info("stopping: no new reconcile or write starts")
        self._cancel.set()
        server.shutdown()
        server.server_close()
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + self.shutdown_timeout
        with self._cond:
            while any(s.running for s in self._schedules):
                left = deadline - time.monotonic()
                if left <= 0:
                    busy = [s.source.name for s in self._schedules if s.running]
                    logger.warning(
                        "abandoning %s after %.0fs; no write of theirs was interrupted by us",
                        ", ".join(busy),
                        self.shutdown_timeout,
                    )
                    break
                self._cond.wait(left)
        logger.info("stopped")

    def _work(self) -> None:
        while (schedule := self._queue.get()) is not None:
            if self._cancel.is_set():
                with self._cond:
                    schedule.running = False
                    self._cond.notify_all()
                continue
            self._reconcile(schedule)

    # -- one reconcile ------------------------------------------------------------

    def _reconcile(self, schedule: _Schedule) -> None:
        source = schedule.source
        started = time.monotonic()
        error: AutomatorError | None = None
        repo = open_repo(source, self.state_dir, self.config.sources.index(source))
        reconciler = Reconciler(self.config, self._registry, repo, self._catalog)
        try:
            with self._repo_locks[source.url]:
                outcome = reconciler.run(
                    source, dry_run=self.config.write.mode == "dry-run", cancel=self._cancel
                )
            self._report(outcome)
        except Cancelled as exc:
            logger.info("%s", exc)
        except AutomatorError as exc:
            error = exc
        except Exception as exc:  # a bug must not kill the worker or the other sources
            logger.exception("%s: unexpected error", source.name)
            error = AutomatorError(f"{source.name}: {type(exc).__name__}", transient=True)
        duration = time.monotonic() - started
        metrics.CYCLE_SECONDS.labels(source=source.name).observe(duration)
        if error is not None:
            self._failed(source, error)
        self._finish(schedule, reconciler.images, error)

    def _finish(
        self, schedule: _Schedule, images: frozenset[str], error: AutomatorError | None
    ) -> None:
        with self._cond:
            now = time.monotonic()
            if images or error is None:
                schedule.images = images
            schedule.failures = schedule.failures + 1 if error is not None else 0
            delay = self.interval
            if error is not None and error.transient:
                delay = min(self.interval, BACKOFF_BASE * 2 ** (schedule.failures - 1))
            jitter = self.config.jitter
            schedule.due = now + delay * random.uniform(1 - jitter, 1 + jitter)
            if schedule.again:
                schedule.due, schedule.again = now, False
            schedule.finished = now
            schedule.running = False
            self._cond.notify_all()

    def _report(self, outcome: Outcome) -> None:
        name = outcome.source
        metrics.SCANS.labels(source=name, result="ok").inc()
        metrics.LAST_SUCCESS.labels(source=name).set_to_current_time()
        metrics.CHANGES.labels(source=name).inc(len(outcome.plan.changes))
        for change in outcome.plan.changes:
            logger.info("%s: %s", name, change.describe())
        for skip in outcome.plan.skipped:
            (logger.error if skip.error else logger.warning)(
                "%s: skipped %s: %s", name, skip.where, skip.reason
            )
        if outcome.commit:
            metrics.COMMITS.labels(source=name).inc()
            logger.info("%s: pushed commit %s", name, outcome.commit)
            self.notifier.notify(
                "commit",
                name,
                f"{name}: pushed {outcome.commit[:12]}: "
                + "; ".join(c.describe() for c in outcome.plan.changes),
                commit=outcome.commit,
                changes=[_change_dict(c) for c in outcome.plan.changes],
            )
        for result in outcome.pull_requests:
            logger.info("%s: %s: pull request %s %s", name, result.branch, result.outcome,
                        result.url or "")  # fmt: skip
            if result.outcome in ("created", "updated", "closed"):
                metrics.PULL_REQUESTS.labels(source=name, action=result.outcome).inc()
                self.notifier.notify(
                    "pull-request",
                    name,
                    f"{name}: pull request {result.outcome}: {result.url or result.branch}",
                    url=result.url or "",
                    branch=result.branch,
                    action=result.outcome,
                )
        if outcome.plan.empty and not outcome.commit and not outcome.pull_requests:
            logger.info("%s: up to date (%d sites)", name, outcome.plan.sites)

    def _failed(self, source: Source, error: AutomatorError) -> None:
        kind, transient = type(error).__name__, str(error.transient).lower()
        metrics.SCANS.labels(source=source.name, result="error").inc()
        metrics.ERRORS.labels(source=source.name, error=kind, transient=transient).inc()
        logger.error("%s: %s", source.name, error)
        self.notifier.notify("failure", source.name, f"{source.name}: {error}", error=str(error))


def _count_request(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
    host = urlsplit(resp.url).netloc
    metrics.REGISTRY_REQUESTS.labels(host=host, status=str(resp.status_code)).inc()


def _change_dict(change: Any) -> dict[str, str]:
    return {
        "image": change.site.image.name,
        "old": change.old,
        "new": change.new,
        "file": change.site.file,
    }


def _webhook_secret(config: Config) -> Secret | None:
    hooks = config.webhooks
    if hooks is None:
        return None
    what = "webhooks.secret_env" if hooks.secret_env else "webhooks.secret_file"
    return register_secret(secret_from(env=hooks.secret_env, file=hooks.secret_file, what=what))
