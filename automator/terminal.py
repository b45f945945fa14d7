"""What the CLI shows people: the plan as a table, a coloured diff, scan progress.

Colour and progress appear only on a terminal; ``click.echo`` strips the styles
when the output is a pipe or a file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import click

from automator.catalog import Registry
from automator.engine import Outcome
from automator.errors import RegistryError
from automator.model import Change
from automator.reference import ImageRef
from automator.registry import ImageInfo

_DIFF_STYLES = (("+++", {"bold": True}), ("---", {"bold": True}), ("@@", {"fg": "cyan"}))


def change_row(change: Change) -> tuple[str, str, str]:
    """(image, "old -> new", file:line) of one change."""
    old = change.site.image.tag or change.site.image.digest or ""
    new = change.image.tag or change.image.digest or ""
    return change.site.image.name, f"{old} -> {new}", change.site.where


def change_table(outcomes: Iterable[Outcome]) -> str:
    """Every change of every outcome as an aligned table; empty when nothing changes."""
    rows = [("IMAGE", "CHANGE", "FILE")]
    rows += [change_row(c) for o in outcomes for c in o.plan.changes]
    if len(rows) == 1:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}\n" for r in rows)


def coloured_diff(diff: str) -> str:
    """A unified diff with removed lines red, added lines green and hunks cyan."""
    out = []
    for line in diff.splitlines(keepends=True):
        style: dict[str, Any] = {}
        for prefix, prefix_style in _DIFF_STYLES:
            if line.startswith(prefix):
                style = prefix_style
                break
        else:
            if line.startswith("+"):
                style = {"fg": "green"}
            elif line.startswith("-"):
                style = {"fg": "red"}
        out.append(click.style(line, **style) if style else line)
    return "".join(out)


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """One outcome as plain JSON data, for ``--output json``."""
    return {
        "source": outcome.source,
        "commit": outcome.commit,
        "sites": outcome.plan.sites,
        "changes": [
            {
                "image": c.site.image.name,
                "old": c.old,
                "new": c.new,
                "file": c.site.file,
                "line": c.site.line,
                "policy": c.site.policy,
                "reason": c.reason,
            }
            for c in outcome.plan.changes
        ],
        "skipped": [
            {"where": s.where, "reason": s.reason, "error": s.error} for s in outcome.plan.skipped
        ],
    }


PROGRESS_BATCH = 16


class ProgressRegistry:
    """Wraps a registry client to show a progress bar on stderr while it lists tags."""

    def __init__(self, inner: Registry) -> None:
        self._inner = inner

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        todo = list(images)
        result: dict[str, list[str] | RegistryError] = {}
        with click.progressbar(length=len(todo), label="listing tags", file=sys.stderr) as bar:
            # in batches, so the client still lists several repositories at once
            for start in range(0, len(todo), PROGRESS_BATCH):
                batch = todo[start : start + PROGRESS_BATCH]
                result.update(self._inner.list_tags_many(batch))
                bar.update(len(batch))
        return result

    def list_tags_prefixed(self, image: ImageRef, prefix: str) -> list[str] | RegistryError:
        return self._inner.list_tags_prefixed(image, prefix)

    def digest(self, image: ImageRef, tag: str | None = None) -> str:
        return self._inner.digest(image, tag)

    def forget_digests(self, tags: Iterable[tuple[str, str]]) -> None:
        self._inner.forget_digests(tags)

    def image_info(
        self, image: ImageRef, tag: str | None = None, platform: str | None = None
    ) -> ImageInfo:
        return self._inner.image_info(image, tag, platform)
