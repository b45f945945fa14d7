"""Write mode ``pull-request``: one branch and one pull request per update group.

Each group's branch (``automator/<group-key>``) is rebuilt from the tip of the base
branch with one commit and force-pushed; its pull request is opened, or updated in
place when a newer tag supersedes it. A group whose updates the base branch already
has (merged, or made by hand) gets its pull request closed and its branch deleted.

A pull request a person closed unmerged is a decision (``forges.declined``): its
versions are left out of the plan while its branch exists, and that branch is kept.
When a person deletes the branch, the closed pull request is marked undone before
the group is proposed again.

Every group re-plans on the tip it builds on; the engine memoises ``replan`` by
commit, so K groups on one base tip cost one scan.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping

from automator.errors import AutomatorError, Cancelled
from automator.forges import Forge, PullRequest, branch_name, group_key, render_pr, sync_pr
from automator.forges.declined import Declined, declined_by, undone_body
from automator.forges.grouping import BRANCH_PREFIX, site_group_key
from automator.git import NewCommit, Signer, Snapshot
from automator.model import Change, Plan
from automator.reference import ImageRef
from automator.write.declined import apply_declined, read_declined
from automator.write.protocols import Replan, Repository
from automator.write.settings import (
    CommitSettings,
    GroupResult,
    PullRequestSettings,
    Written,
    held_lines,
)
from automator.write.splice import splice

logger = logging.getLogger(__name__)

OciLabels = Callable[[Iterable[ImageRef]], Mapping[str, Mapping[str, str]]]
"""OCI labels of each image's config by reference (source, revision, release notes)."""
ChartLabels = Callable[[Iterable[Change]], Mapping[str, Mapping[str, str]]]
"""The links of each chart update by its new reference, as OCI label names (charts.links)."""


class PullRequestWriter:
    """Brings every group's branch and pull request in line with the plan."""

    def __init__(
        self,
        source: str,
        repo: Repository,
        forge: Forge,
        commit: CommitSettings,
        pulls: PullRequestSettings,
        *,
        signer: Signer | None = None,
        oci_labels: OciLabels | None = None,
        chart_labels: ChartLabels | None = None,
    ) -> None:
        self.source = source
        self.repo = repo
        self.forge = forge
        self.commit = commit
        self.pulls = pulls
        self.signer = signer
        self.oci_labels = oci_labels
        self.chart_labels = chart_labels

    def write(self, replan: Replan, *, cancel: threading.Event | None = None) -> Written:
        """Once ``cancel`` is set no further group is written (raises Cancelled)."""
        snapshot = self.repo.fetch()
        existing = set(self.repo.remote_branches(BRANCH_PREFIX))
        declined = read_declined(self.forge, self.repo.branch, existing, self.source)

        def decided(snapshot: Snapshot) -> Plan:
            return apply_declined(replan(snapshot), declined, self.pulls.group)

        first = splice(decided(snapshot), snapshot.read)
        groups = sorted({group_key(c, self.pulls.group) for c in first.changes})
        results: list[GroupResult] = []
        for key in groups:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{self.source}: stopping; the remaining groups were not written")
            branch = branch_name(key)
            if branch not in existing:
                self._undo_deleted(branch)
            results.append(self._group(key, decided, declined.get(branch, ())))
        results.extend(self._close_stale({branch_name(k) for k in groups}, keep=set(declined)))
        return Written(first, pull_requests=tuple(results))

    def _undo_deleted(self, branch: str) -> None:
        """Mark undone the decisions on ``branch``, which a person deleted."""
        for pr in self.forge.find_closed_prs(branch, self.repo.branch):
            if declined_by(pr) is not None:
                self.forge.update_pr(pr, pr.title, undone_body(pr.body, branch))
                logger.info("%s: %s deleted; %s declines no more", self.source, branch, pr.url)

    def _group(self, key: str, replan: Replan, declined: tuple[Declined, ...]) -> GroupResult:
        branch = branch_name(key)
        last: list[Change] = []
        held: list[str] = []

        def mine(change: Change) -> bool:
            return group_key(change, self.pulls.group) == key

        def render(snapshot: Snapshot) -> NewCommit | None:
            plan = splice(replan(snapshot), snapshot.read, only=mine)
            last[:] = plan.changes
            held[:] = held_lines(plan, lambda s: site_group_key(s, self.pulls.group) == key)
            return self.commit.new_commit(plan)

        written = self.repo.write(
            render,
            author=self.commit.author,
            committer=self.commit.committer,
            sign=self.signer,
            push_branch=branch,
            force=True,
        )
        content = None
        if last:
            images = (c.image for c in last if c.site.chart is None and not c.site.artifact)
            labels = dict(self.oci_labels(images)) if self.oci_labels else {}
            labels |= self.chart_labels(last) if self.chart_labels else {}
            content = render_pr(
                last, group=key, labels_from_oci=dict(labels), declined=declined, held=held
            )
        pr, outcome = sync_pr(
            self.forge,
            head=branch,
            base=self.repo.branch,
            content=content,
            labels=self.pulls.labels,
        )
        if outcome == "closed":
            self.repo.delete_branch(branch)
        if pr is not None and outcome == "created" and self.pulls.auto_merge:
            _auto_merge(self.forge, pr)
        return GroupResult(key, branch, outcome, pr.url if pr else None, written.commit)

    def _close_stale(self, live: set[str], *, keep: set[str]) -> list[GroupResult]:
        """Close the pull requests of groups that no longer have updates; delete their
        branches, but ``keep`` those that record a person's decision."""
        results = []
        for branch in sorted(self.repo.remote_branches(BRANCH_PREFIX)):
            if branch in live:
                continue
            pr, outcome = sync_pr(self.forge, head=branch, base=self.repo.branch, content=None)
            if branch in keep and outcome == "none":
                continue
            if branch not in keep:
                self.repo.delete_branch(branch)
                logger.info("%s: %s has no pending updates; branch deleted", self.source, branch)
            group = branch.removeprefix(BRANCH_PREFIX)
            results.append(GroupResult(group, branch, outcome, pr.url if pr else None))
        return results


def _auto_merge(forge: Forge, pr: PullRequest) -> None:
    try:
        forge.enable_auto_merge(pr)
    except AutomatorError as exc:
        logger.warning("%s: auto-merge not enabled: %s", pr.url, exc)
