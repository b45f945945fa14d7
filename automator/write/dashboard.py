"""The status issue (dashboard) of one source: found, claimed, created once, edited in place.

The forge cannot create an issue conditionally, so the config repo's Git decides who
may create it (docs/decisions.md): the side ref ``refs/automator/dashboard/<source>``,
written by the same compare-and-swap as the first-seen record (``automator.git.sideref``).

1. The ref records the issue's number: read that issue (one request).
2. Otherwise, or when that issue is gone, look for an issue whose body carries the
   source's marker (the forge is the record, not a state directory).
3. None: claim the right to create it by a create-only push of the ref (or, when the
   ref holds a claim older than ``STALE_CLAIM_S`` whose claimant never recorded an
   issue, or an issue that is gone, by a compare-and-swap from that value). The
   winner creates the issue and records its number in the ref; a loser waits for the
   next cycle, when step 1 finds the winner's issue.
4. Found: edited only when its title or text differ. A closed dashboard was closed by
   a person and is left closed (reopening it resumes the updates).

A reconcile that failed as a whole only edits a dashboard that exists
(:meth:`Dashboard.edit_only`): never a claim, never a creation, and when the ref cannot
be read (the remote is what failed) the issue is looked for by its marker.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from automator.errors import GitError
from automator.forges.base import _same_text
from automator.forges.dashboard import dashboard_marker, render_dashboard
from automator.forges.grouping import GroupBy, group_key
from automator.forges.issues import Issue, Issues
from automator.git import Identity
from automator.git.sideref import Side, SideFile, Stale
from automator.model import Plan
from automator.write.settings import GroupResult

logger = logging.getLogger(__name__)

STALE_CLAIM_S = 600.0  # a claimant that has not recorded an issue after this is presumed dead
REF_PREFIX = "refs/automator/dashboard/"
MAX_READS = 3  # lost races in one cycle before waiting for the next
_ISSUE_RE = re.compile(r"^Automator-Dashboard-Issue: (\d+)$", re.MULTILINE)

DashboardAction = Literal[
    "created", "updated", "unchanged", "closed", "waiting", "refused", "absent"
]


@dataclass(frozen=True, slots=True)
class DashboardResult:
    action: DashboardAction
    url: str | None = None


class Dashboard:
    """Keeps the one dashboard issue of ``source`` in line with the text it is given."""

    def __init__(
        self,
        source: str,
        title: str,
        issues: Issues,
        side: Side,
        author: Identity,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.title = title
        self.issues = issues
        self.side = side  # refs/automator/dashboard/<source> (REF_PREFIX)
        self.author = author
        self.now = now
        self.marker = dashboard_marker(source)

    def sync(self, body: str) -> DashboardResult:
        """Create the dashboard once, or edit it when ``body`` (or the title) changed.
        Raises GitError when the ref cannot be read (the caller logs it)."""
        for _ in range(MAX_READS):
            try:
                return self._sync(self.side.read(), body)
            except Stale as lost:  # another replica claimed it first: see what it did
                logger.info("%s: the dashboard ref moved (%s); reading it again", self.source, lost)
        logger.info("%s: the dashboard ref kept moving; next cycle", self.source)
        return DashboardResult("waiting")

    def _sync(self, value: SideFile, body: str) -> DashboardResult:
        recorded = _recorded(value)
        issue = self.issues.get_issue(recorded) if recorded is not None else None
        if issue is not None and self.marker not in issue.body:
            issue = None  # the number is reused by something else: look again
        if issue is None:
            issue = self._find()
        if issue is None:
            return self._create(value, recorded, body)
        if recorded != issue.number:
            self._record(issue.number, value.commit)
        return self._edit(issue, body)

    def edit_only(self, body: str) -> DashboardResult:
        """Edit the dashboard that exists to ``body``; never claim nor create one (a
        failed reconcile). When the ref cannot be read, the issue is found by its marker."""
        try:
            recorded = _recorded(self.side.read())
        except GitError as exc:
            logger.info("%s: dashboard ref not read (%s); looking for its marker", self.source, exc)
            recorded = None
        issue = self.issues.get_issue(recorded) if recorded is not None else None
        if issue is None or self.marker not in issue.body:
            issue = self._find()
        if issue is None:
            return DashboardResult("absent")
        return self._edit(issue, body)

    def _edit(self, issue: Issue, body: str) -> DashboardResult:
        if issue.state != "open":
            logger.info("%s: dashboard %s closed by a person; left closed", self.source, issue.url)
            return DashboardResult("closed", issue.url)
        if issue.title == self.title and _same_text(issue.body, body):
            return DashboardResult("unchanged", issue.url)
        edited = self.issues.edit_issue(issue, self.title, body)
        logger.info("%s: dashboard %s updated", self.source, edited.url)
        return DashboardResult("updated", edited.url)

    def _find(self) -> Issue | None:
        found = sorted(self.issues.find_issues(self.marker), key=lambda i: i.number)
        if len(found) > 1:
            logger.warning(
                "%s: %d dashboards carry the marker; keeping #%d, close the others",
                self.source, len(found), found[0].number,
            )  # fmt: skip
        return found[0] if found else None

    def _create(self, value: SideFile, recorded: int | None, body: str) -> DashboardResult:
        fresh = self.now() - value.written < STALE_CLAIM_S
        if value.commit is not None and recorded is None and fresh:
            logger.info("%s: another replica is creating the dashboard; next cycle", self.source)
            return DashboardResult("waiting")
        try:  # Stale (another replica claimed it first) goes up to sync: decide again
            claim = self.side.write(None, value.commit, self._message("claim"), self.author)
        except GitError as exc:
            logger.warning(
                "%s: dashboard not created: %s, or turn write.dashboard off; without that ref"
                " nothing decides which replica creates the issue, so none does",
                self.source,
                exc,
            )
            return DashboardResult("refused")
        issue = self.issues.create_issue(self.title, body)
        logger.info("%s: dashboard %s created", self.source, issue.url)
        self._record(issue.number, claim)
        return DashboardResult("created", issue.url)

    def _record(self, number: int, expected: str | None) -> None:
        """Write the issue's number in the ref; losing this race loses nothing."""
        message = self._message(f"issue #{number}", f"Automator-Dashboard-Issue: {number}")
        try:
            self.side.write(None, expected, message, self.author)
        except Stale:
            logger.info("%s: the dashboard ref moved; #%d not recorded", self.source, number)
        except GitError as exc:  # the next cycle finds it by its marker
            logger.warning("%s: dashboard #%d not recorded: %s", self.source, number, exc)

    def _message(self, what: str, trailer: str = "") -> str:
        text = f"automator dashboard of source {self.source}: {what}\n"
        return text + (f"\n{trailer}\n" if trailer else "")


def dashboard_body(
    source: str,
    plan: Plan | None,
    pull_requests: Sequence[GroupResult],
    group: GroupBy,
    committed: str | None = None,
    *,
    error: str | None = None,
) -> str:
    """The dashboard text of ``plan``, each pending change linked to its pull request
    (in push mode, named with the ``committed`` commit that made it); with ``error``,
    why the last reconcile failed, above the last ``plan`` that succeeded (or alone)."""
    urls = {r.group: r.url for r in pull_requests if r.url}
    changes = plan.changes if plan is not None else ()
    links = {c.site.where: url for c in changes if (url := urls.get(group_key(c, group)))}
    return render_dashboard(source, plan, links, committed, error)


def _recorded(value: SideFile) -> int | None:
    if value.commit is None:
        return None
    found = _ISSUE_RE.search(value.message)
    return int(found.group(1)) if found else None
