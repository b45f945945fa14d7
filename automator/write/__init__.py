"""The write stage: apply a plan's changes to the files and put them in Git.

    splice(plan, read)            the byte-exact edits; refused files become skips
    PushWriter(...)               write.mode push: one commit on the source branch
    PullRequestWriter(...)        write.mode pull-request: a branch and a PR per group
    Dashboard(...)                the source's status issue, created once, edited in place
    Writer, Repository, Replan    the seams (protocols.py)

Writers never see the engine: they receive a ``replan(snapshot) -> Plan`` (memoised
by commit), a Git repository, a signer and, for pull requests, a forge.
"""

from automator.write.dashboard import Dashboard, DashboardResult, dashboard_body
from automator.write.protocols import Replan, Repository, Writer
from automator.write.pullrequest import ChartLabels, OciLabels, PullRequestWriter
from automator.write.push import PushWriter
from automator.write.settings import CommitSettings, GroupResult, PullRequestSettings, Written
from automator.write.splice import apply_changes, read_or_none, splice, unified_diff

__all__ = [
    "ChartLabels",
    "CommitSettings",
    "Dashboard",
    "DashboardResult",
    "GroupResult",
    "OciLabels",
    "PullRequestSettings",
    "PullRequestWriter",
    "PushWriter",
    "Replan",
    "Repository",
    "Writer",
    "Written",
    "apply_changes",
    "dashboard_body",
    "read_or_none",
    "splice",
    "unified_diff",
]
