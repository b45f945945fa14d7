"""The values a selection takes in and gives back, and the table ``automator explain`` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Final

# Refusal codes, in the order ``decision_table`` lists them.
CODES: Final = (
    "not-newest",
    "below-current",
    "too-young",
    "out-of-range",
    "prerelease",
    "not-a-version",
    "not-a-number",
    "no-build-time",
    "ignored",
    "filtered",
    "cosign",
    "invalid-tag",
)
_RANK: Final = {code: i for i, code in enumerate(CODES)}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tag as the registry lists it, with what we know about its image."""

    tag: str
    created: datetime | None = None
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one tag did not win; ``code`` is one of ``CODES``."""

    tag: str
    reason: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of ``select_tag``: the winner (may be the current tag) and the rest.

    ``failed`` is True when the policy itself could not be applied (Flux's numerical
    ordering with a non-numeric candidate); then ``tag`` is None.
    """

    tag: str | None
    reason: str
    refused: tuple[Refusal, ...]
    current: str | None = None
    considered: int = 0
    eligible: int = 0
    digest: str | None = None
    failed: bool = False

    @property
    def changed(self) -> bool:
        """True when the winner differs from the current tag."""
        return self.tag is not None and self.tag != self.current

    def summary(self) -> str:
        """Refusal counts by code, e.g. ``3 out-of-range, 1 cosign``."""
        counts = Counter(r.code for r in self.refused)
        return ", ".join(f"{counts[c]} {c}" for c in CODES if counts[c])


def decision_table(decision: Decision, *, limit: int | None = None) -> list[tuple[str, str]]:
    """Rows ``(tag, verdict)``: the winner first, then refusals by code and tag."""
    rows: list[tuple[str, str]] = []
    if decision.tag is not None:
        verdict = "selected (already running)" if not decision.changed else "selected"
        rows.append((decision.tag, f"{verdict}: {decision.reason}"))
    ordered = sorted(decision.refused, key=lambda r: (_RANK.get(r.code, len(CODES)), r.tag))
    rows.extend((r.tag, f"{r.code}: {r.reason}" if r.code else r.reason) for r in ordered)
    if limit is not None and len(rows) > limit:
        hidden = len(rows) - limit
        rows = [*rows[:limit], ("...", f"{hidden} more rows")]
    return rows
