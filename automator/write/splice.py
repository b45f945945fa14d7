"""Apply a Plan's changes to the files, byte-exactly: the write stage's first step.

The plan decides what moves; this module makes the edits. A file whose edit cannot
be made byte-exactly is left alone, and its changes become a Skip with the reason.

A ``Chart.yaml`` and the ``Chart.lock`` beside it are written together or not at all:
the lock's edits are derived here from the dependency changes actually written
(``charts.lockchanges.relock``), and when either file cannot be edited, neither is.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from automator.charts.lockchanges import lock_of, relock
from automator.errors import EditError
from automator.manifests import edit_file
from automator.model import Change, Plan, Skip

Read = Callable[[str], bytes]


def read_or_none(read: Read) -> Callable[[str], bytes | None]:
    """``read`` that answers None for a path the tree does not hold as a file."""

    def optional(path: str) -> bytes | None:
        try:
            return read(path)
        except (KeyError, ValueError, TypeError):  # missing, or a directory
            return None

    return optional


def splice(plan: Plan, read: Read, *, only: Callable[[Change], bool] | None = None) -> Plan:
    """``plan`` with its changes spliced into the files ``read`` returns.

    The result holds the new file contents, only the changes that were made, and
    the plan's skips plus one error Skip per file that could not be edited. With
    ``only``, the other changes are left out (a pull request group).
    """
    wanted = relock([c for c in plan.changes if only is None or only(c)])
    files, kept, refused = apply_changes(wanted, read)
    kept_ids = {id(c) for c in kept}
    broken = sorted({lock for c in wanted if (lock := lock_of(c)) and id(c) not in kept_ids})
    if broken:  # a Chart.yaml without its lock, or a lock without its Chart.yaml: neither
        rest = [c for c in wanted if lock_of(c) not in broken]
        files, kept, _ = apply_changes(rest, read)
        refused.extend(Skip(lock, _together(lock), True) for lock in broken)
    return replace(plan, changes=tuple(kept), skipped=(*plan.skipped, *refused), files=files)


def _together(lock: str) -> str:
    return (
        f"{lock}: left alone with its Chart.yaml, since one of the two could not be edited"
        " and helm dependency build refuses them apart; that file's own line says why"
    )


def apply_changes(
    changes: Sequence[Change], read: Read
) -> tuple[dict[str, bytes], list[Change], list[Skip]]:
    """Edit every file ``changes`` touch: (new contents, changes made, files refused)."""
    files: dict[str, bytes] = {}
    kept: list[Change] = []
    refused: list[Skip] = []
    optional = read_or_none(read)
    for path in sorted({c.site.file for c in changes}):
        mine = [c for c in changes if c.site.file == path]
        data = optional(path)
        if data is None and not all(c.site.create for c in mine):
            refused.append(Skip(path, "not in the repository any more; re-scan", True))
            continue
        try:
            files[path] = edit_file(path, data or b"", mine)
        except EditError as exc:
            refused.append(Skip(path, str(exc), True))
            continue
        kept.extend(mine)
    return files, kept, refused


def unified_diff(files: Mapping[str, bytes], read: Read) -> str:
    """The diff a commit of ``files`` would carry, as ``git diff`` prints it."""
    out: list[str] = []
    for path, new in sorted(files.items()):
        old_lines = (read_or_none(read)(path) or b"").decode("utf-8").splitlines(keepends=True)
        new_lines = new.decode("utf-8").splitlines(keepends=True)
        out.extend(difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}"))
    return "".join(out)
