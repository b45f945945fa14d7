"""The status issue (dashboard) of one source: found, claimed, created once, edited in place.

The forge cannot create an issue conditionally, so the config repo's Git decides who
may create it (docs/decisions.md): the side ref ``refs/automator/dashboard/<source>``.

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
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from automator.forges.base import _same_text
from automator.forges.dashboard import dashboard_marker, render_dashboard
from automator.forges.grouping import GroupBy, group_key
from automator.forges.issues import Issue, Issues
from automator.model import Plan
from automator.write.settings import GroupResult

logger = logging.getLogger(__name__)

STALE_CLAIM_S = 600.0  # a claimant that has not recorded an issue after this is presumed dead
REF_PREFIX = "refs/automator/dashboard/"
_ISSUE_RE = re.compile(r"^Automator-Dashboard-Issue: (\d+)$", re.MULTILINE)

DashboardAction = Literal["created", "updated", "unchanged", "closed", "waiting"]


class RefValue(Protocol):
    @property
    def commit(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def written(self) -> float: ...


class SideRefs(Protocol):
    """Compare-and-swap on a side ref of the config repo (``automator.git.claims``)."""

    def read(self, ref: str) -> RefValue | None: ...

    def swap(self, ref: str, message: str, expected: str | None) -> str | None: ...


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
        refs: SideRefs,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.title = title
        self.issues = issues
        self.refs = refs
        self.now = now
        self.ref = REF_PREFIX + source
        self.marker = dashboard_marker(source)

    def sync(self, body: str) -> DashboardResult:
        """Create the dashboard once, or edit it when ``body`` (or the title) changed."""
        value = self.refs.read(self.ref)
        recorded = _recorded(value)
        issue = self.issues.get_issue(recorded) if recorded is not None else None
        if issue is not None and self.marker not in issue.body:
            issue = None  # the number is reused by something else: look again
        if issue is None:
            issue = self._find()
        if issue is None:
            return self._create(value, recorded, body)
        if recorded != issue.number:
            self._record(issue.number, value.commit if value else None)
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

    def _create(self, value: RefValue | None, recorded: int | None, body: str) -> DashboardResult:
        if value is not None and recorded is None and self.now() - value.written < STALE_CLAIM_S:
            logger.info("%s: another replica is creating the dashboard; next cycle", self.source)
            return DashboardResult("waiting")
        claim = self.refs.swap(self.ref, self._message("claim"), value.commit if value else None)
        if claim is None:
            logger.info("%s: another replica claimed the dashboard; next cycle", self.source)
            return DashboardResult("waiting")
        issue = self.issues.create_issue(self.title, body)
        logger.info("%s: dashboard %s created", self.source, issue.url)
        self._record(issue.number, claim)
        return DashboardResult("created", issue.url)

    def _record(self, number: int, expected: str | None) -> None:
        """Write the issue's number in the ref; losing this race loses nothing."""
        message = self._message(f"issue #{number}", f"Automator-Dashboard-Issue: {number}")
        if self.refs.swap(self.ref, message, expected) is None:
            logger.info("%s: the dashboard ref moved; #%d not recorded", self.source, number)

    def _message(self, what: str, trailer: str = "") -> str:
        text = f"automator dashboard of source {self.source}: {what}\n"
        return text + (f"\n{trailer}\n" if trailer else "")


def dashboard_body(
    source: str,
    plan: Plan,
    pull_requests: Sequence[GroupResult],
    group: GroupBy,
    committed: str | None = None,
) -> str:
    """The dashboard text of ``plan``, each pending change linked to its pull request
    (in push mode, named with the ``committed`` commit that made it)."""
    urls = {r.group: r.url for r in pull_requests if r.url}
    links = {c.site.where: url for c in plan.changes if (url := urls.get(group_key(c, group)))}
    return render_dashboard(source, plan, links, committed)


def _recorded(value: RefValue | None) -> int | None:
    if value is None:
        return None
    found = _ISSUE_RE.search(value.message)
    return int(found.group(1)) if found else None
