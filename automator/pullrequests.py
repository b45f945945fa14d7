"""Write mode ``pull-request``: one branch and one pull request per update group.

Each group's branch (``automator/<group-key>``) is rebuilt from the tip of the base
branch with one commit and force-pushed; its pull request is opened, or updated in
place when a newer tag supersedes it. A group whose updates the base branch already
has (merged, or made by hand) gets its pull request closed and its branch deleted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from automator.config import Config, Source
from automator.errors import AutomatorError, Cancelled, ForgeError
from automator.forges import (
    Forge,
    PullRequest,
    branch_name,
    group_key,
    make_forge,
    render_pr,
    sync_pr,
)
from automator.forges.grouping import BRANCH_PREFIX
from automator.git import Identity, NewCommit, Snapshot, render_message
from automator.model import Change, Plan
from automator.plan import apply_changes
from automator.secrets import secret_from

if TYPE_CHECKING:
    from automator.engine import Reconciler

logger = logging.getLogger(__name__)

PUBLIC_API = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
    "gitea": "https://gitea.com",
    "forgejo": "https://codeberg.org",
}


@dataclass(frozen=True, slots=True)
class GroupResult:
    """What happened to one group's branch and pull request."""

    group: str
    branch: str
    outcome: str  # created, updated, unchanged, closed, none
    url: str | None = None
    commit: str | None = None


def forge_from_config(config: Config) -> Forge:
    """The forge named by ``write.forge``, its token read from env or file."""
    settings = config.write.forge
    if settings is None:
        raise ForgeError("write.forge is not configured; add kind, repository and token_env")
    token = secret_from(env=settings.token_env, file=settings.token_file, what="write.forge token")
    return make_forge(
        settings.kind,
        api_url=settings.api_url or PUBLIC_API[settings.kind],
        repository=settings.repository,
        token=token,
        max_wait_s=settings.max_wait,
    )


def write_pull_requests(
    reconciler: Reconciler,
    source: Source,
    forge: Forge,
    first: Plan,
    *,
    cancel: threading.Event | None = None,
) -> list[GroupResult]:
    """Bring every group's branch and pull request in line with ``first`` (a fresh plan).

    Once ``cancel`` is set no further group is written (raises Cancelled).
    """
    config = reconciler.config
    settings = config.write.forge
    labels = settings.labels if settings is not None else []
    by = config.write.group
    commit = config.write.commit
    author = Identity.parse(commit.author)
    committer = Identity.parse(commit.committer) if commit.committer else None
    groups = sorted({group_key(c, by) for c in first.changes})
    results: list[GroupResult] = []
    for key in groups:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{source.name}: stopping; the remaining groups were not written")
        branch = branch_name(key)
        last: list[Change] = []

        def render(
            snapshot: Snapshot, key: str = key, last: list[Change] = last
        ) -> NewCommit | None:
            plan = reconciler.plan(snapshot, source)
            mine = [c for c in plan.changes if group_key(c, by) == key]
            files, kept, _ = apply_changes(mine, snapshot.read)
            last[:] = kept
            if not kept:
                return None
            message = render_message(kept, commit.message_template, commit.skip_ci)
            return NewCommit(files, message)

        written = reconciler.repo.write(
            render,
            author=author,
            committer=committer,
            sign=reconciler.signer,
            push_branch=branch,
            force=True,
        )
        content = None
        if last:
            labels_from_oci = reconciler.catalog.labels(c.image for c in last)
            content = render_pr(last, group=key, labels_from_oci=labels_from_oci)
        pr, outcome = sync_pr(
            forge, head=branch, base=source.branch, content=content, labels=labels
        )
        if outcome == "closed":
            reconciler.repo.delete_branch(branch)
        if pr is not None and outcome == "created" and settings is not None and settings.auto_merge:
            _auto_merge(forge, pr)
        url = pr.url if pr else None
        results.append(GroupResult(key, branch, outcome, url, written.commit))
    results.extend(_close_stale(reconciler, source, forge, {branch_name(k) for k in groups}))
    return results


def _close_stale(
    reconciler: Reconciler, source: Source, forge: Forge, live: set[str]
) -> list[GroupResult]:
    """Close the pull requests of groups that no longer have updates, and delete their branches."""
    results = []
    for branch in sorted(reconciler.repo.remote_branches(BRANCH_PREFIX)):
        if branch in live:
            continue
        pr, outcome = sync_pr(forge, head=branch, base=source.branch, content=None)
        reconciler.repo.delete_branch(branch)
        logger.info("%s: %s has no pending updates; branch deleted", source.name, branch)
        group = branch.removeprefix(BRANCH_PREFIX)
        results.append(GroupResult(group, branch, outcome, pr.url if pr else None))
    return results


def _auto_merge(forge: Forge, pr: PullRequest) -> None:
    try:
        forge.enable_auto_merge(pr)
    except AutomatorError as exc:
        logger.warning("%s: auto-merge not enabled: %s", pr.url, exc)
