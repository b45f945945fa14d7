"""The first-seen record: when automator first saw each candidate tag, as sorted text.

One line per tag, ``<repository> <tag> <RFC 3339 UTC time>``, sorted, after a comment
that says what the file is; people can read it with ``git show``. Pure: parsing,
rendering, merging (the earliest time of a tag wins) and pruning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

Key = tuple[str, str]  # (canonical repository, tag)
Times = Mapping[Key, datetime]

HEADER: Final = (
    "# automator first-seen record: <repository> <tag> <first seen, UTC>, one line per tag.\n"
    "# Replicas merge it by taking the earliest time of each tag; automator rewrites it.\n"
)
GRACE: Final = timedelta(days=1)  # a tag no longer a candidate stays this long (lagging replicas)
_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
_REPOSITORY: Final = re.compile(r"[a-z0-9][a-z0-9._:/-]*")
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class RecordError(ValueError):
    """The record's text is not ``<repository> <tag> <time>`` lines; names the line."""


def parse_record(text: str) -> dict[Key, datetime]:
    """The times in ``text``; a tag listed twice keeps its earliest time. Raises RecordError."""
    times: dict[Key, datetime] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) != 3:
            raise RecordError(f"line {number} {line[:80]!r} is not '<repository> <tag> <time>'")
        repository, tag, when = fields
        if not _REPOSITORY.fullmatch(repository) or not _TAG.fullmatch(tag):
            raise RecordError(f"line {number}: {repository} {tag} is not a repository and a tag")
        try:
            moment = datetime.strptime(when, _FORMAT).replace(tzinfo=UTC)
        except ValueError as exc:
            raise RecordError(
                f"line {number}: {when[:40]!r} is not a UTC time like 2026-12-01T10:00:00Z"
            ) from exc
        key = (repository, tag)
        times[key] = min(moment, times.get(key, moment))
    return times


def render_record(times: Times) -> str:
    """The text of ``times``: the header, then one sorted line per tag."""
    lines = [
        f"{repo} {tag} {times[repo, tag].astimezone(UTC):{_FORMAT}}\n"
        for repo, tag in sorted(times)
    ]
    return HEADER + "".join(lines)


def merge_earliest(*records: Times) -> dict[Key, datetime]:
    """Every tag of ``records``, each at the earliest time any of them gives it."""
    merged: dict[Key, datetime] = {}
    for record in records:
        for key, when in record.items():
            merged[key] = min(when, merged.get(key, when))
    return merged


def updated(
    record: Times,
    candidates: Mapping[str, Iterable[str]],
    in_use: Iterable[str],
    now: datetime,
) -> dict[Key, datetime]:
    """``record`` after a cycle: each candidate tag kept, or recorded at ``now`` when new.

    ``candidates`` holds, per repository listed this cycle, the tags a first-seen policy
    would take were age no matter. Of repositories ``in_use`` (a Site of the source has a
    first-seen policy) but not listed (a registry error, a hold), every entry stays. An
    entry that is no longer a candidate stays ``GRACE`` after it was recorded, so a
    replica whose listing lags does not drop what another replica just recorded. Entries
    of repositories no longer in use are dropped.
    """
    now = now.astimezone(UTC).replace(microsecond=0)
    used = set(in_use) | set(candidates)
    out: dict[Key, datetime] = {}
    for (repo, tag), when in record.items():
        if repo in used and (repo not in candidates or now - when < GRACE):
            out[repo, tag] = when
    for repo, tags in candidates.items():
        for tag in tags:
            out[repo, tag] = record.get((repo, tag), now)
    return out
