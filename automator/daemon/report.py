"""What a reconcile tells people and Prometheus: log lines, metrics, notifications.

One :class:`Reporter` serves the daemon and ``automator run --once`` alike: one INFO
line per change, pushed commit and pull request; a line per skipped file (ERROR when
it is an error); a counter for each; a notification for each commit, pull request
created, updated or closed, and failure.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from automator import metrics
from automator.engine import Outcome
from automator.errors import AutomatorError
from automator.model import Change
from automator.notify import Event

logger = logging.getLogger(__name__)

NOTIFIED_PR_OUTCOMES = ("created", "updated", "closed")  # "unchanged" and "none" are quiet


class SupportsNotify(Protocol):
    """Where notifications go; ``automator.notify.Notifier`` is one."""

    def notify(self, event: Event, source: str, text: str, **details: Any) -> None: ...


class Reporter:
    """Logs, counts and notifies what reconciles did."""

    def __init__(self, notifier: SupportsNotify) -> None:
        self.notifier = notifier

    def reconciled(self, outcome: Outcome) -> None:
        """Report a reconcile that ran to the end (its plan may still have skipped files)."""
        name, plan = outcome.source, outcome.plan
        metrics.SCANS.labels(source=name, result="ok").inc()
        metrics.LAST_SUCCESS.labels(source=name).set_to_current_time()
        metrics.CHANGES.labels(source=name).inc(len(plan.changes))
        for change in plan.changes:
            logger.info("%s: %s", name, change.describe())
        for skip in plan.skipped:
            log = logger.error if skip.error else logger.warning
            log("%s: skipped %s: %s", name, skip.where, skip.reason)
        for result in outcome.pull_requests:
            url = f" {result.url}" if result.url else ""
            logger.info("%s: %s: pull request %s%s", name, result.branch, result.outcome, url)
            if result.outcome in NOTIFIED_PR_OUTCOMES:
                metrics.PULL_REQUESTS.labels(source=name, action=result.outcome).inc()
                self.notifier.notify(
                    "pull-request",
                    name,
                    f"{name}: pull request {result.outcome}: {result.url or result.branch}",
                    url=result.url or "",
                    branch=result.branch,
                    action=result.outcome,
                )
        if outcome.commit:
            metrics.COMMITS.labels(source=name).inc()
            logger.info("%s: pushed commit %s", name, outcome.commit)
            self.notifier.notify(
                "commit",
                name,
                f"{name}: pushed {outcome.commit[:12]}: "
                + "; ".join(c.describe() for c in plan.changes),
                commit=outcome.commit,
                changes=[_change_dict(c) for c in plan.changes],
            )
        elif plan.empty and not outcome.pull_requests and plan.errors:
            logger.info("%s: no changes; %d failed (%d sites)", name, len(plan.errors), plan.sites)
        elif plan.empty and not outcome.pull_requests:
            logger.info("%s: up to date (%d sites)", name, plan.sites)

    def failed(self, source: str, error: AutomatorError) -> None:
        """Report a reconcile of ``source`` that stopped with ``error``."""
        kind, transient = type(error).__name__, str(error.transient).lower()
        metrics.SCANS.labels(source=source, result="error").inc()
        metrics.ERRORS.labels(source=source, error=kind, transient=transient).inc()
        logger.error("%s: %s", source, error)
        logger.debug("%s: the error and its causes", source, exc_info=error)
        self.notifier.notify("failure", source, f"{source}: {error}", error=str(error))

    def took(self, source: str, seconds: float) -> None:
        """Record how long one reconcile of ``source`` took, whatever its end."""
        metrics.CYCLE_SECONDS.labels(source=source).observe(seconds)


def _change_dict(change: Change) -> dict[str, str]:
    return {
        "image": change.site.image.name,
        "old": change.old,
        "new": change.new,
        "file": change.site.file,
    }
