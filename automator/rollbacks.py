"""A rollback is a hold: a person moved a field back from what automator wrote.

For every Site, the file's history (``automator.git.history``) is read newest first,
and each version of the file is scanned for the same field (same workload,
container, part and repository, in the same order). The field is held when:

- the latest commit that changed its value was not automator's (automator's commits
  carry its author's email and an ``Automator-Update`` trailer), and moved it to an
  older version (semver order) than the value before;
- automator wrote the field earlier in that history, and the value now is older than
  what it last wrote.

So the hold lasts until a person moves the field forward themselves (to any newer
version), or removes the Site's policy. The hold names the commit that caused it.
Only tags that read as versions are compared; only Sites that the scan finds on its
own (annotations, markers, rules) are followed, not Flux ``$imagepolicy`` setters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from automator.fields import Key, Versions, field_history, field_keys
from automator.git import Snapshot
from automator.git.history import FileVersion, files_written_by
from automator.git.message import is_automator_commit
from automator.manifests.rules import Rule
from automator.model import Hold, Site
from policies.semver import try_version

logger = logging.getLogger(__name__)


def rollback_holds(
    snapshot: Snapshot, sites: Sequence[Site], *, author_email: str, rules: Sequence[Rule] = ()
) -> tuple[Site, ...]:
    """``sites`` with a rollback hold on each field a person moved back from automator's."""

    def ours(version: FileVersion) -> bool:
        return version.author_email == author_email and is_automator_commit(version.message)

    keys = field_keys(sites)
    histories: dict[str, Versions] = {}
    written = files_written_by(snapshot, author_email)  # only these can have been rolled back
    out = []
    for site in sites:
        if (
            site.file not in written
            or site.hold is not None
            or site.origin == "imagepolicy"
            or site.image.tag is None
        ):
            out.append(site)
            continue
        if site.file not in histories:
            histories[site.file] = field_history(snapshot, site.file, rules)
        hold = _rollback(keys[id(site)], site.image.tag, histories[site.file], ours)
        out.append(replace(site, hold=hold) if hold is not None else site)
    return tuple(out)


def _rollback(
    key: Key,
    now: str,
    history: Versions,
    ours: Callable[[FileVersion], bool],
) -> Hold | None:
    values = [found.get(key) for _, found in history]
    changed = [i for i in range(len(values) - 1) if values[i] != values[i + 1]]
    if not changed:
        return None
    latest = changed[0]
    cause = history[latest][0]
    before, after = values[latest + 1], values[latest]
    if ours(cause) or before is None or after is None or not _older(after, before):
        return None
    wrote = next(
        (values[i] for i in range(latest + 1, len(values)) if ours(history[i][0])
         and (i == len(values) - 1 or values[i] != values[i + 1])),
        None,
    )  # fmt: skip
    if wrote is None or not _older(now, wrote):
        return None
    reason = (
        f"rolled back from {wrote} to {after} by {cause.author_name} in commit"
        f" {cause.commit[:12]}; move it forward to resume updates"
    )
    return Hold(reason, f"commit {cause.commit[:12]}", "rollback")


def _older(a: str, b: str) -> bool:
    va, vb = try_version(a), try_version(b)
    return va is not None and vb is not None and va < vb
