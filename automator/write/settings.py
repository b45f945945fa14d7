"""What the writers need to know, and what they return: plain frozen values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from automator.forges import GroupBy
from automator.git import Identity, NewCommit, render_message
from automator.git.message import with_trailers
from automator.model import Plan, Site


@dataclass(frozen=True, slots=True)
class CommitSettings:
    """Who commits, and how the message reads (``write.commit`` in automator.yaml)."""

    author: Identity
    committer: Identity | None = None
    message_template: str | None = None
    skip_ci: bool = False
    render: Callable[[Plan], str] | None = None  # the whole message (a Flux messageTemplate)

    def new_commit(self, plan: Plan) -> NewCommit | None:
        """The commit that carries a spliced ``plan``, None when it changes nothing."""
        if plan.empty:
            return None
        if self.render is not None:
            return NewCommit(plan.files, self.render(plan))
        message = render_message(plan.changes, self.message_template, self.skip_ci)
        return NewCommit(plan.files, with_trailers(message, plan.changes, held_lines(plan)))


def held_lines(plan: Plan, only: Callable[[Site], bool] | None = None) -> list[str]:
    """A line per Site of ``plan`` a rollback holds (that ``only`` accepts), naming the
    commit that caused it."""
    return [
        f"{s.site.image} in {s.site.file}: {s.hold.reason}"
        for s in plan.skipped
        if s.site is not None
        and s.hold is not None
        and s.hold.kind == "rollback"
        and (only is None or only(s.site))
    ]


@dataclass(frozen=True, slots=True)
class PullRequestSettings:
    """How updates are grouped into pull requests (``write.group``, ``write.forge``)."""

    group: GroupBy = "all"
    labels: tuple[str, ...] = ()
    auto_merge: bool = False


@dataclass(frozen=True, slots=True)
class GroupResult:
    """What happened to one group's branch and pull request."""

    group: str
    branch: str
    outcome: str  # created, updated, unchanged, closed, none
    url: str | None = None
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """What a writer did: the plan as written (edits refused are skips) and its result."""

    plan: Plan
    commit: str | None = None
    pull_requests: tuple[GroupResult, ...] = ()
