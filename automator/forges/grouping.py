"""Which changes share a pull request, and the branch that carries them.

Group keys name what the changes have in common, in the user's words:

| by | key |
| --- | --- |
| all | ``all`` |
| image | ``image/ghcr.io/acme/api`` (canonical repository name) |
| workload | ``workload/apps/Deployment/api`` (directory, kind/name), else ``workload/<file>`` |
| directory | ``directory/clusters/prod``; ``directory/.`` for the repository root |

A ``Chart.yaml`` dependency with a ``Chart.lock`` beside it, and that lock's entries and
digest, are one group whatever the grouping: ``chart/<directory>/Chart.yaml`` when grouping
by image or workload (the lock's digest covers every dependency of the chart).

Branch names are ``automator/<key>`` with the key made a valid Git ref component:

- lowercase; every character outside ``[a-z0-9._/-]`` becomes ``-``; runs of ``-`` shrink to one;
- no empty components, no component that starts or ends with ``.`` or ends with
  ``.lock``; no ``..`` anywhere;
- at most 80 characters. When the key had to be cut or had characters replaced
  (case aside), an 8-hex-digit hash of the original key is appended, so different
  keys never share a branch. Keys that differ only in case do share one.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable
from typing import Literal

from automator.model import Change, Site

BRANCH_PREFIX = "automator/"
KEY_MAX = 80
GroupBy = Literal["all", "image", "workload", "directory"]

_INVALID = re.compile(r"[^a-z0-9._/-]+")


def group_key(change: Change, by: GroupBy) -> str:
    """The key of the group ``change`` belongs to."""
    return site_group_key(change.site, by)


def site_group_key(site: Site, by: GroupBy) -> str:
    """The key of the group a change of ``site`` would belong to."""
    directory = posixpath.dirname(site.file) or "."
    if (site.lock is not None or site.origin == "lock") and by in ("image", "workload"):
        return f"chart/{directory}/Chart.yaml"  # a Chart.lock moves with its Chart.yaml
    if by == "all":
        return "all"
    if by == "image":
        return f"image/{site.image.canonical_name}"
    if by == "workload":
        if not site.workload:
            return f"workload/{site.file}"
        return f"workload/{directory}/{site.workload}"
    if by == "directory":
        return f"directory/{directory}"
    raise ValueError(f"unknown grouping {by!r}; use all, image, workload or directory")


def group_changes(changes: Iterable[Change], by: GroupBy) -> dict[str, list[Change]]:
    """Changes by group key, keys sorted, each group in the changes' own order."""
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(group_key(change, by), []).append(change)
    return dict(sorted(groups.items()))


def branch_name(group_key: str) -> str:
    """The deterministic branch ``automator/<key>`` for a group, a valid Git ref."""
    wanted = group_key.lower()
    key = _INVALID.sub("-", wanted)
    key = re.sub(r"-{2,}", "-", key)
    key = re.sub(r"\.{2,}", ".", key)
    parts = []
    for part in key.split("/"):
        part = part.strip(".")
        while part.endswith(".lock"):
            part = part[: -len(".lock")].rstrip(".")
        if part:
            parts.append(part)
    key = "/".join(parts)
    if key and key == wanted and len(key) <= KEY_MAX:
        return BRANCH_PREFIX + key
    digest = hashlib.sha256(group_key.encode()).hexdigest()[:8]
    key = key[: KEY_MAX - 9].rstrip("./-")
    return f"{BRANCH_PREFIX}{key}-{digest}" if key else f"{BRANCH_PREFIX}{digest}"
