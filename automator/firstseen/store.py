"""The first-seen record of one source, kept on a side ref of its config repo.

``refs/automator/first-seen/<source>`` (``automator.git.sideref``): any replica, with or
without a state directory, reads the same record, and a write is a compare-and-swap.
A write that loses (another replica wrote since this one read) reads the record again,
merges it (the earliest time of each tag wins) and tries again, at most
``MAX_WRITES`` times. Nothing here ever fails a reconcile: a record that cannot be read
or written is one warning, and the plan then counts unrecorded tags as seen now, which
holds them back (the safe side).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from automator.errors import GitError
from automator.firstseen.record import (
    Key,
    RecordError,
    merge_earliest,
    parse_record,
    render_record,
    updated,
)
from automator.git import Identity
from automator.git.sideref import Side, Stale

logger = logging.getLogger(__name__)

REF_PREFIX = "refs/automator/first-seen/"
FILE = "first-seen.txt"
MAX_WRITES = 5


@dataclass(frozen=True, slots=True)
class Recorded:
    """The record as read: its times, the ref's commit, and why it could not be used."""

    times: Mapping[Key, datetime] = field(default_factory=dict)
    commit: str | None = None
    problem: str | None = None  # unreadable or malformed: used as empty, never overwritten


class FirstSeenStore:
    """Reads and writes one source's record; counts the writes another replica beat."""

    def __init__(self, side: Side, author: Identity, *, max_writes: int = MAX_WRITES) -> None:
        self.side = side
        self.author = author
        self.max_writes = max_writes
        self.rejected = 0  # compare-and-swap pushes lost to another writer

    def read(self) -> Recorded:
        """The record now; on trouble an empty one whose ``problem`` says why (logged)."""
        try:
            found = self.side.read()
        except GitError as exc:
            return self._problem(f"first-seen record not read: {exc}")
        if found.data is None:
            return Recorded(commit=found.commit)
        try:
            times = parse_record(found.data.decode("utf-8", errors="replace"))
        except RecordError as exc:
            return self._problem(
                f"{self.side.where}: {FILE} is malformed: {exc}; fix that line or delete the"
                f" ref (git push origin :{self.side.where.split()[0]}) to start it afresh;"
                " until then every unrecorded tag counts as seen now",
                error=True,
            )
        return Recorded(times, found.commit)

    def save(
        self,
        recorded: Recorded,
        candidates: Mapping[str, Iterable[str]],
        in_use: Iterable[str],
        now: datetime,
    ) -> Recorded:
        """Write ``recorded`` updated with this cycle's candidates (``record.updated``);
        what the ref holds afterwards. Never raises: a failed write is one warning."""
        wanted = {repo: tuple(tags) for repo, tags in candidates.items()}
        used = tuple(in_use)
        held, mine = recorded, dict[Key, datetime]()  # what the ref holds; what we would write
        for _ in range(self.max_writes):
            if held.problem is not None:
                return held
            times = updated(merge_earliest(held.times, mine), wanted, used, now)
            if times == dict(held.times):
                return held
            added = len(times.keys() - held.times.keys())
            dropped = len(held.times.keys() - times.keys())
            message = f"automator: first seen, {added} tags added, {dropped} dropped"
            try:
                commit = self.side.write(
                    render_record(times).encode(), held.commit, message, self.author
                )
            except Stale as lost:
                self.rejected += 1
                logger.info("%s: another replica wrote first (%s); merging", self.side.where, lost)
                held, mine = self.read(), times
                continue
            except GitError as exc:
                logger.warning("first-seen record not written: %s", exc)
                return held
            return Recorded(times, commit)
        logger.warning(
            "%s: first-seen record not written: %d writers won in a row; the next cycle retries",
            self.side.where,
            self.max_writes,
        )
        return held

    def _problem(self, text: str, *, error: bool = False) -> Recorded:
        (logger.error if error else logger.warning)("%s", text)
        return Recorded(problem=text)
