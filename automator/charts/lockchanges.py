"""The ``Chart.lock`` edits that go with Chart.yaml dependency changes.

For each lock, the new versions of its changed dependencies are put into both lists
Helm hashes, the digest is recomputed (``charts.lock``), and one Change per lock entry
and one for the digest are added to the plan, so ``helm dependency build`` accepts the
result. The lock's ``generated`` time is left as it was (Helm does not check it).

The lock's edits are derived, never decided: whenever the dependency changes are
narrowed after the plan (declined pull requests, a pull request's group), ``relock``
derives them again from the dependency changes that remain, so the lock written always
covers exactly the dependencies written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from automator.charts.lock import lock_digest
from automator.model import Change


def relock(changes: Sequence[Change]) -> list[Change]:
    """``changes`` with their Chart.lock edits derived again from the dependency changes
    among them (any lock edits they held are dropped first)."""
    mine = [c for c in changes if not is_lock_edit(c)]
    return [*mine, *lock_changes(mine)]


def is_lock_edit(change: Change) -> bool:
    """Whether ``change`` edits a Chart.lock (an entry's version or the digest)."""
    return change.site.origin == "lock"


def lock_of(change: Change) -> str | None:
    """The Chart.lock that must move with ``change`` (its own file for a lock edit)."""
    if change.site.lock is not None:
        return change.site.lock.file
    return change.site.file if is_lock_edit(change) else None


def lock_changes(changes: Sequence[Change]) -> list[Change]:
    """The Chart.lock Changes that keep each lock in step with ``changes``."""
    by_lock: dict[str, list[Change]] = {}
    for change in changes:
        if change.site.lock is not None and not is_lock_edit(change):
            by_lock.setdefault(change.site.lock.file, []).append(change)
    out: list[Change] = []
    for mine in by_lock.values():
        first = mine[0].site.lock
        assert first is not None
        requested, locked = json.loads(first.requested), json.loads(first.locked)
        for change in mine:
            entry = change.site.lock
            assert entry is not None
            requested[entry.index]["version"] = change.new
            locked[entry.lock_index]["version"] = change.new
            out.append(
                Change(entry.version, entry.version.value, change.new, change.image, change.reason)
            )
        digest = lock_digest(requested, locked)
        reason = "Chart.lock digest, as helm dependency update computes it"
        out.append(Change(first.digest, first.digest.value, digest, mine[0].image, reason))
    return out
