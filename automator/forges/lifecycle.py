"""What to do with a group's pull request: a pure decision, then its execution.

The decision needs two facts: is there an open pull request for the group's branch,
and does the base branch still lack the desired state (``has_changes``)?

| open PR | has changes | action | why |
| --- | --- | --- | --- |
| no | yes | open | first update for this group |
| yes | yes | update | a newer tag: the same PR is updated in place, never a second one |
| yes | no | close | base already has the desired state (merged by hand, another route) |
| no | no | none | nothing to do |

On "close" the caller also deletes the branch (Git is not this package's job). A
pull request automator closes is marked so (``forges.declined``): only one a person
closed is a decision.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from automator.forges.base import Forge, PullRequest
from automator.forges.declined import closed_body

logger = logging.getLogger(__name__)

PrAction = Literal["open", "update", "close", "none"]
PrOutcome = Literal["created", "updated", "unchanged", "closed", "none"]


def decide_pr_action(open_pr: PullRequest | None, has_changes: bool) -> PrAction:
    """The action that brings the group's pull request in line with the plan."""
    if has_changes:
        return "update" if open_pr is not None else "open"
    return "close" if open_pr is not None else "none"


def sync_pr(
    forge: Forge,
    *,
    head: str,
    base: str,
    content: tuple[str, str] | None,
    labels: Sequence[str] = (),
) -> tuple[PullRequest | None, PrOutcome]:
    """Open, update or close the pull request from ``head`` into ``base``.

    ``content`` is the (title, body) when the base lacks the desired state, None when
    it already has it. Call after the branch was pushed (open/update) and delete the
    branch after a "closed" outcome.
    """
    open_pr = forge.find_open_pr(head, base)
    action = decide_pr_action(open_pr, content is not None)
    if action == "close" and open_pr is not None:
        logger.info("%s: %s already has these updates; closing %s", head, base, open_pr.url)
        # marked, so nobody reads it later as a person's decision (forges.declined)
        return forge.close_pr(open_pr, closed_body(open_pr.body)), "closed"
    if content is None:
        return None, "none"
    title, body = content
    pr, outcome = forge.ensure_pr(head, base, title, body, labels)
    logger.info("%s -> %s: pull request %s %s", head, base, pr.url, outcome)
    return pr, outcome
