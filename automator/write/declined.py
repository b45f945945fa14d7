"""Reading what people declined (closed pull requests) from the forge, read-only.

``run`` in pull-request mode, ``plan`` and ``check`` all read the same closed pull
requests of the existing ``automator/`` branches (``forges.declined`` says what a
closed pull request decides); only the writer also marks decisions undone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from automator.charts.lockchanges import relock
from automator.forges import Forge, branch_name, group_key
from automator.forges.declined import Declined, declined_by, declined_reason, without_declined
from automator.forges.grouping import GroupBy
from automator.model import Change, Plan

logger = logging.getLogger(__name__)

NOT_CONSULTED = "declined pull requests were not consulted"


def read_declined(
    forge: Forge, base: str, branches: Iterable[str], source: str
) -> dict[str, tuple[Declined, ...]]:
    """The decisions recorded by closed pull requests into ``base``, by existing branch."""
    found: dict[str, tuple[Declined, ...]] = {}
    for branch in sorted(branches):
        prs = forge.find_closed_prs(branch, base)
        decisions = tuple(d for d in map(declined_by, prs) if d is not None)
        if decisions:
            found[branch] = decisions
            logger.info(
                "%s: %s keeps the versions declined in %s",
                source,
                branch,
                ", ".join(d.url for d in decisions),
            )
    return found


def apply_declined(plan: Plan, declined: dict[str, tuple[Declined, ...]], group: GroupBy) -> Plan:
    """``plan`` with the versions of ``declined`` moved to its skips, and its Chart.lock
    edits derived again from the dependency changes that remain."""

    def decisions(change: Change) -> tuple[str, tuple[Declined, ...]]:
        branch = branch_name(group_key(change, group))
        return branch, declined.get(branch, ())

    kept = without_declined(plan, decisions)
    return kept if kept is plan else replace(kept, changes=tuple(relock(kept.changes)))


def declined_lines(declined: dict[str, tuple[Declined, ...]]) -> list[str]:
    """One line per declined version, in the words ``run`` uses (``check``)."""
    return [
        declined_reason(version, decision, branch)
        for branch, decisions in sorted(declined.items())
        for decision in decisions
        for version in sorted(decision.versions)
    ]
