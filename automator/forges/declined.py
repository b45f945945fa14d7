"""A closed pull request is a decision: the hidden lines that record it, and reading them.

Every automator pull request carries, beside its group marker, the versions it
proposes (``<!-- automator:proposed=ghcr.io/acme/api:1.4.3 -->``). When automator
closes one itself (the base already has the versions, or the group has none left) it
adds ``<!-- automator:closed -->`` as it closes it. So a closed pull request with
proposed versions and without that line was closed by a person: those versions are
declined for its group, as long as its branch exists. When a person deletes the
branch, automator adds ``<!-- automator:undone -->`` to the pull request before it
proposes the group again, so the old decision never comes back. Reopening the pull
request simply makes it open again. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote

from automator.forges.base import PullRequest
from automator.model import Change, Hold, Plan, Skip

CLOSED = "<!-- automator:closed -->"
UNDONE = "<!-- automator:undone -->"
_PROPOSED_RE = re.compile(r"<!-- automator:proposed=(\S*) -->")


@dataclass(frozen=True, slots=True)
class Declined:
    """A pull request a person closed unmerged, and the versions it proposed."""

    number: int
    url: str
    versions: frozenset[str]  # version ids (see ``version_id``)


def version_id(change: Change) -> str:
    """The proposed version of ``change`` as a closed pull request records it."""
    image = change.image
    text = image.canonical_name
    if image.tag:
        text += f":{image.tag}"
    if image.digest:
        text += f"@{image.digest}"
    return text


def proposed_marker(changes: Iterable[Change]) -> str:
    """The hidden line that records the versions a pull request proposes."""
    ids = sorted({version_id(c) for c in changes})
    return "<!-- automator:proposed=" + ",".join(_quote(i) for i in ids) + " -->"


def proposed_of(body: str) -> frozenset[str] | None:
    """The versions ``body`` records as proposed, None when it records none."""
    found = _PROPOSED_RE.search(body)
    if found is None:
        return None
    return frozenset(unquote(part) for part in found.group(1).split(",") if part)


def declined_by(pr: PullRequest) -> Declined | None:
    """The decision ``pr`` records, None when it is no decision of a person."""
    if pr.state != "closed" or CLOSED in pr.body or UNDONE in pr.body:
        return None
    versions = proposed_of(pr.body)
    if not versions:
        return None
    return Declined(pr.number, pr.url, versions)


def without_declined(
    plan: Plan, decisions: Callable[[Change], tuple[str, Sequence[Declined]]]
) -> Plan:
    """``plan`` with every change a person declined moved to its skips.

    ``decisions`` gives a change's group branch and the decisions recorded for it.
    """
    changes: list[Change] = []
    skipped: list[Skip] = []
    for change in plan.changes:
        if change.site.origin == "lock":  # a Chart.lock edit follows its dependency
            changes.append(change)  # (derived again from what remains: write.declined)
            continue
        branch, declined = decisions(change)
        version = version_id(change)
        by = next((d for d in declined if version in d.versions), None)
        if by is None:
            changes.append(change)
            continue
        reason = declined_reason(version, by, branch)
        hold = Hold("closed unmerged", by.url, "declined")
        skipped.append(Skip(change.site.where, reason, site=change.site, hold=hold))
    if not skipped:
        return plan
    return replace(plan, changes=tuple(changes), skipped=(*plan.skipped, *skipped))


def declined_reason(version: str, by: Declined, branch: str) -> str:
    """Why ``version`` is not proposed: ``by`` declined it, on ``branch``."""
    return (
        f"{version} declined: pull request #{by.number} ({by.url}) was closed unmerged;"
        f" reopen it, or delete branch {branch}, to propose it again"
    )


def closed_body(body: str) -> str:
    """``body`` with the line that says automator closed the pull request itself."""
    return body if CLOSED in body else f"{body.rstrip()}\n\n{CLOSED}\n"


def undone_body(body: str, branch: str) -> str:
    """``body`` with the line that says deleting ``branch`` undid the decision."""
    note = (
        f"automator: branch `{branch}` was deleted, which undoes this decision;"
        " its versions may be proposed again."
    )
    return f"{body.rstrip()}\n\n{note}\n{UNDONE}\n"


def _quote(text: str) -> str:
    return quote(text, safe="/:@+=.").replace("--", "-%2D")
