"""The values a selection takes in and gives back, and the table ``automator explain`` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

# Refusal codes, in the order ``decision_table`` lists them.
CODES: Final = (
    "not-newest",
    "unsigned",
    "unverified",
    "below-current",
    "too-young",
    "out-of-range",
    "prerelease",
    "other-variant",
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

    def __post_init__(self) -> None:
        # a build time without a zone is UTC, so times from any source compare
        if self.created is not None and self.created.tzinfo is None:
            object.__setattr__(self, "created", self.created.replace(tzinfo=UTC))


@dataclass(frozen=True, slots=True, init=False, repr=False, eq=False, match_args=False)
class Refusal:
    """Why one tag did not win; ``code`` is one of ``CODES``.

    Built as ``Refusal(tag, reason, code)``. ``select_tag`` refuses most of a registry's
    tags and few reasons are ever read, so it words them on demand (``refusal``).
    """

    tag: str
    code: str
    _explain: Callable[[str], str] | None
    _subject: str
    __match_args__ = ("tag", "reason", "code")

    def __init__(self, tag: str, reason: str, code: str = "") -> None:
        _set_tag(self, tag)
        _set_code(self, code)
        _set_explain(self, None)
        _set_subject(self, reason)

    @property
    def reason(self) -> str:
        """The one-line reason, e.g. ``matches ignore=*-debug``."""
        explain = self._explain
        return self._subject if explain is None else explain(self._subject)

    def __repr__(self) -> str:
        return f"Refusal(tag={self.tag!r}, reason={self.reason!r}, code={self.code!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Refusal) or other.__class__ is not self.__class__:
            return NotImplemented
        return (self.tag, self.code, self.reason) == (other.tag, other.code, other.reason)

    def __hash__(self) -> int:
        return hash((self.tag, self.reason, self.code))

    def __reduce__(self) -> tuple[type[Refusal], tuple[str, str, str]]:
        return Refusal, (self.tag, self.reason, self.code)


def _setter(name: str) -> Callable[[Refusal, Any], None]:
    """The slot's own setter: how a frozen ``Refusal`` is filled in, once, when built."""
    setter: Callable[[Refusal, Any], None] = vars(Refusal)[name].__set__
    return setter


_set_tag, _set_code, _set_explain, _set_subject = map(
    _setter, ("tag", "code", "_explain", "_subject")
)


def refusal(
    tag: str, code: str, subject: str, explain: Callable[[str], str] | None = None
) -> Refusal:
    """A ``Refusal`` whose reason is ``explain(subject)``, worded only when read."""
    made = object.__new__(Refusal)
    _set_tag(made, tag)
    _set_code(made, code)
    _set_explain(made, explain)
    _set_subject(made, subject)
    return made


Verify = Callable[[str], "str | Refusal"]
"""A ``verify=`` policy's gate, given by the caller: for one tag, the digest it accepted,
or the ``Refusal`` (code ``unsigned``) that says why not."""


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
    total = len(rows) + len(ordered)
    if limit is not None and 0 <= limit < total:
        ordered = ordered[: max(limit - len(rows), 0)]  # word only the reasons shown
    rows.extend((r.tag, f"{r.code}: {r.reason}" if r.code else r.reason) for r in ordered)
    if limit is not None and total > limit:
        rows = [*rows[:limit], ("...", f"{total - limit} more rows")]
    return rows
