"""Write mode ``push``: one commit on the source branch, re-planned after a lost race."""

from __future__ import annotations

import threading

from automator.errors import Cancelled
from automator.git import NewCommit, Signer, Snapshot
from automator.model import Plan
from automator.write.protocols import Replan, Repository
from automator.write.settings import CommitSettings, Written
from automator.write.splice import splice


class PushWriter:
    """Commits every change of the plan on the branch tip and pushes it."""

    def __init__(
        self,
        source: str,
        repo: Repository,
        commit: CommitSettings,
        signer: Signer | None = None,
        push_branch: str | None = None,  # built on the branch tip, pushed here (Flux push.branch)
    ) -> None:
        self.source = source
        self.repo = repo
        self.commit = commit
        self.signer = signer
        self.push_branch = push_branch

    def write(self, replan: Replan, *, cancel: threading.Event | None = None) -> Written:
        last: list[Plan] = []

        def render(snapshot: Snapshot) -> NewCommit | None:
            plan = splice(replan(snapshot), snapshot.read)
            last[:] = [plan]
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{self.source}: stopping; the write was not started")
            return self.commit.new_commit(plan)

        result = self.repo.write(
            render,
            author=self.commit.author,
            committer=self.commit.committer,
            sign=self.signer,
            push_branch=self.push_branch,
        )
        return Written(last[0], commit=result.commit)
