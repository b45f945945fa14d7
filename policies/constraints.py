"""Semver ranges as Masterminds/semver v3 (v3.4 semantics, v3.5 limits) reads them.

This is not npm's range language. The parts that surprise people are kept on purpose,
because policies copied from Flux and Argo CD rely on them:

* ``!=``, comma-AND as well as space-AND, ``||``, ``~`` / ``~>``, ``^``, ``=>`` / ``=<``;
* wildcards (``1.x``, ``1.*``, ``*``) and partials (``1.2`` means ``1.2.x``);
* hyphen ranges ``A - B`` (spaces required) are rewritten to ``>= A, <= B`` first;
* a prerelease version only matches an ``||`` group in which some comparator carries a
  prerelease (or with ``include_prerelease``); then prereleases of any ``M.m.p`` count;
* ``~0.0.0`` matches everything, ``^*`` only 0.0.0, ``<=*`` only 0.0.z, ``!=*`` excludes
  only 0.0.0, and ``x.2.3`` means ``*``;
* at most 512 bytes and 32 ``||`` groups (v3.5.0, which Flux v1.2 uses).

``Constraints.validate`` returns upstream's reason strings, used to explain refusals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from policies.errors import ConstraintError, VersionError
from policies.semver import Version, VersionKey, parse_version

MAX_CONSTRAINT_BYTES: Final = 512
MAX_CONSTRAINT_GROUPS: Final = 32

_WS: Final = r"[\t\n\f\r ]"
_OPS: Final = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CV: Final = (
    r"v?([0-9|x|X|*]+)(\.[0-9|x|X|*]+)?(\.[0-9|x|X|*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_CV_GROUPS: Final = 9
_ITEM: Final = re.compile(rf"{_WS}*({_OPS}){_WS}*({_CV}){_WS}*")
_FIND: Final = re.compile(rf"({_OPS}){_WS}*({_CV})")
_GROUP: Final = re.compile(
    rf"{_WS}*(?:{_OPS}){_WS}*{_CV}{_WS}*(?:(?:{_WS}+|,{_WS}*)(?:{_OPS}){_WS}*{_CV}{_WS}*)*"
)
_RANGE: Final = re.compile(rf"{_WS}*({_CV}){_WS}+-{_WS}+({_CV}){_WS}*")
_WILD: Final = frozenset({"x", "X", "*", ""})


# Why a comparator refuses: the words between the quoted version and the quoted
# constraint, and what follows the constraint (upstream's reason strings).
Failure = tuple[str, str]
_NOT_EQUAL: Final = ("is not equal to", "")
_EQUAL: Final = ("is equal to", "")
_AT_MOST: Final = ("is less than or equal to", "")
_AT_LEAST: Final = ("is greater than or equal to", "")
_LESS: Final = ("is less than", "")
_GREATER: Final = ("is greater than", "")
_OTHER_MAJOR: Final = ("does not have same major version as", "")
_OTHER_MAJOR_MINOR: Final = ("does not have same major and minor version as", "")
_OTHER_MINOR: Final = ("does not have same minor version as", "")
_OTHER_MINOR_0: Final = (
    "does not have same minor version as",
    ". Expected minor versions to match when constraint major version is 0",
)
_NOT_EQUAL_0_0: Final = (
    "does not equal",
    ". Expect version and constraint to equal when major and minor versions are 0",
)


@dataclass(frozen=True, slots=True)
class Comparator:
    """One ``op version`` item. ``dirty`` marks a wildcard or partial version."""

    op: str
    orig: str
    con: Version
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    def __str__(self) -> str:
        return self.op + self.orig

    def reason(self, v: Version) -> str | None:
        """None when ``v`` passes, else upstream's one-line reason."""
        failure = _OPS_TABLE[self.op](v.key, self)
        if failure is None:
            return None
        return f'"{v}" {failure[0]} "{self.orig}"{failure[1]}'


# Each test reads a version by its key: (major, minor, patch, 1 for a release, prerelease).
def _eq(k: VersionKey, c: Comparator) -> Failure | None:
    if c.dirty:
        return _tilde(k, c)
    return None if k == c.con.key else _NOT_EQUAL


def _ne(k: VersionKey, c: Comparator) -> Failure | None:
    con = c.con.key
    if c.dirty:
        if con[0] != k[0]:
            return None
        if con[1] != k[1] and not c.minor_dirty:
            return None
        if c.minor_dirty:
            return _EQUAL
        if con[2] != k[2] and not c.patch_dirty:
            return None
        if c.patch_dirty:
            differs = (k[3] == 0 or con[3] == 0) and k[3:] != con[3:]
            return None if differs else _EQUAL
    return _EQUAL if k == con else None


def _gt(k: VersionKey, c: Comparator) -> Failure | None:
    con = c.con.key
    if c.dirty:
        if k[0] != con[0]:
            return None if k[0] > con[0] else _AT_MOST
        if c.minor_dirty:
            return _AT_MOST
        if c.patch_dirty:
            return None if k[1] > con[1] else _AT_MOST
    return None if k > con else _AT_MOST


def _lt(k: VersionKey, c: Comparator) -> Failure | None:
    return None if k < c.con.key else _AT_LEAST


def _ge(k: VersionKey, c: Comparator) -> Failure | None:
    return None if k >= c.con.key else _LESS


def _le(k: VersionKey, c: Comparator) -> Failure | None:
    con = c.con.key
    if not c.dirty:
        return None if k <= con else _GREATER
    if k[0] > con[0] or (k[0] == con[0] and k[1] > con[1] and not c.minor_dirty):
        return _GREATER
    return None


def _tilde(k: VersionKey, c: Comparator) -> Failure | None:
    con = c.con.key
    if k < con:
        return _LESS
    if con[0] == con[1] == con[2] == 0 and not c.minor_dirty and not c.patch_dirty:
        return None  # ~0.0.0 (and *) accept everything at or above it
    if k[0] != con[0]:
        return _OTHER_MAJOR
    if k[1] != con[1] and not c.minor_dirty:
        return _OTHER_MAJOR_MINOR
    return None


def _caret(k: VersionKey, c: Comparator) -> Failure | None:
    con = c.con.key
    if k < con:
        return _LESS
    if con[0] > 0 or c.minor_dirty:
        return None if k[0] == con[0] else _OTHER_MAJOR
    if k[0] > 0:
        return _OTHER_MAJOR
    if con[1] > 0 or c.patch_dirty:
        return None if k[1] == con[1] else _OTHER_MINOR_0
    if k[1] > 0:
        return _OTHER_MINOR
    return None if k[2] == con[2] else _NOT_EQUAL_0_0


_OPS_TABLE: Final[dict[str, Callable[[VersionKey, Comparator], Failure | None]]] = {
    "": _eq,
    "=": _eq,
    "!=": _ne,
    ">": _gt,
    "<": _lt,
    ">=": _ge,
    "=>": _ge,
    "<=": _le,
    "=<": _le,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


def rewrite_range(text: str) -> str:
    """Masterminds ``rewriteRange``: each ``A - B`` becomes ``>= A, <= B ``."""
    out = text
    for m in _RANGE.finditer(text):
        out = out.replace(m.group(0), f">= {m.group(1)}, <= {m.group(2 + _CV_GROUPS)} ", 1)
    return out


def parse_comparator(text: str) -> Comparator:
    """Masterminds ``parseConstraint``: one item; ``""`` means any release (``*``)."""
    if not text:
        return Comparator("", "", Version(0, 0, 0, original="0.0.0"), dirty=True)
    m = _ITEM.fullmatch(text)
    if m is None:
        raise ConstraintError(f'improper constraint: "{text}"', code="ErrImproperConstraint")
    op, orig, major, minor, patch, pre = m.group(1, 2, 3, 4, 5, 6)
    minor, patch, pre = minor or "", patch or "", pre or ""
    dirty = minor_dirty = patch_dirty = False
    ver = orig
    if major in _WILD:
        ver, dirty = f"0.0.0{pre}", True
    elif minor[1:] in _WILD:
        ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif patch[1:] in _WILD:
        ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    try:
        con = parse_version(ver)
    except VersionError as exc:
        raise ConstraintError(
            f"constraint parser error: {text.strip()!r}", code="ErrConstraintParser"
        ) from exc
    return Comparator(op, orig, con, dirty, minor_dirty, patch_dirty)


@dataclass(frozen=True, slots=True)
class Constraints:
    """An OR of AND-groups of comparators (Masterminds ``Constraints``)."""

    text: str
    groups: tuple[tuple[Comparator, ...], ...]
    group_has_prerelease: tuple[bool, ...]
    include_prerelease: bool = False

    def __str__(self) -> str:
        return " || ".join(" ".join(map(str, group)) for group in self.groups)

    def check(self, v: Version) -> bool:
        """True when any group accepts ``v`` (Masterminds ``Check``)."""
        return self.admits(v.key)

    def admits(self, key: VersionKey) -> bool:
        """``check`` for a version known by its ``Version.key`` alone (no metadata)."""
        release = key[3] == 1
        for group, has_pre in zip(self.groups, self.group_has_prerelease, strict=True):
            if not (release or has_pre or self.include_prerelease):
                continue
            for c in group:
                if _OPS_TABLE[c.op](key, c) is not None:
                    break
            else:
                return True
        return False

    def validate(self, v: Version) -> tuple[bool, tuple[str, ...]]:
        """Masterminds ``Validate``: the answer and every failing item's reason."""
        errors: list[str] = []
        pre_said = False
        for group, has_pre in zip(self.groups, self.group_has_prerelease, strict=True):
            if v.prerelease and not (has_pre or self.include_prerelease):
                if not pre_said:
                    errors.append(
                        f'"{v}" is a prerelease version and the constraint is only looking for '
                        "release versions"
                    )
                    pre_said = True
                continue
            failures = [r for c in group if (r := c.reason(v)) is not None]
            if not failures:
                return True, ()
            errors.extend(failures)
        return False, tuple(errors)


def parse_constraint(
    text: str, *, include_prerelease: bool = False, limits: bool = True
) -> Constraints:
    """Masterminds ``NewConstraint``; ``limits`` applies v3.5.0's size caps."""
    if limits and len(text.encode()) > MAX_CONSTRAINT_BYTES:
        raise ConstraintError(
            f"constraint is longer than {MAX_CONSTRAINT_BYTES} bytes", code="ErrConstraintTooLong"
        )
    rewritten = rewrite_range(text)
    ors = rewritten.split("||")
    if limits and len(ors) > MAX_CONSTRAINT_GROUPS:
        raise ConstraintError(
            f"constraint has more than {MAX_CONSTRAINT_GROUPS} || groups",
            code="ErrTooManyConstraintGroups",
        )
    groups: list[tuple[Comparator, ...]] = []
    for part in ors:
        if not _GROUP.fullmatch(part):
            raise ConstraintError(f'improper constraint: "{part}"', code="ErrImproperConstraint")
        items = tuple(parse_comparator(m.group(0)) for m in _FIND.finditer(part))
        groups.append(items)
    has_pre = tuple(any(c.con.prerelease for c in group) for group in groups)
    return Constraints(text, tuple(groups), has_pre, include_prerelease)
