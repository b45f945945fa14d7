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
from policies.semver import Version, parse_version

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
        return _OPS_TABLE[self.op](v, self)


def _fail(v: Version, c: Comparator, what: str) -> str:
    return f'"{v}" {what} "{c.orig}"'


def _eq(v: Version, c: Comparator) -> str | None:
    if c.dirty:
        return _tilde(v, c)
    return None if v == c.con else _fail(v, c, "is not equal to")


def _ne(v: Version, c: Comparator) -> str | None:
    con = c.con
    if c.dirty:
        if con.major != v.major:
            return None
        if con.minor != v.minor and not c.minor_dirty:
            return None
        if c.minor_dirty:
            return _fail(v, c, "is equal to")
        if con.patch != v.patch and not c.patch_dirty:
            return None
        if c.patch_dirty:
            differs = (v.prerelease or con.prerelease) and v.key[3:] != con.key[3:]
            return None if differs else _fail(v, c, "is equal to")
    return _fail(v, c, "is equal to") if v == con else None


def _gt(v: Version, c: Comparator) -> str | None:
    con = c.con
    if c.dirty:
        if v.major != con.major:
            return None if v.major > con.major else _fail(v, c, "is less than or equal to")
        if c.minor_dirty:
            return _fail(v, c, "is less than or equal to")
        if c.patch_dirty:
            return None if v.minor > con.minor else _fail(v, c, "is less than or equal to")
    return None if v > con else _fail(v, c, "is less than or equal to")


def _lt(v: Version, c: Comparator) -> str | None:
    return None if v < c.con else _fail(v, c, "is greater than or equal to")


def _ge(v: Version, c: Comparator) -> str | None:
    return None if v >= c.con else _fail(v, c, "is less than")


def _le(v: Version, c: Comparator) -> str | None:
    con = c.con
    if not c.dirty:
        return None if v <= con else _fail(v, c, "is greater than")
    if v.major > con.major or (v.major == con.major and v.minor > con.minor and not c.minor_dirty):
        return _fail(v, c, "is greater than")
    return None


def _tilde(v: Version, c: Comparator) -> str | None:
    con = c.con
    if v < con:
        return _fail(v, c, "is less than")
    if con.major == con.minor == con.patch == 0 and not c.minor_dirty and not c.patch_dirty:
        return None  # ~0.0.0 (and *) accept everything at or above it
    if v.major != con.major:
        return _fail(v, c, "does not have same major version as")
    if v.minor != con.minor and not c.minor_dirty:
        return _fail(v, c, "does not have same major and minor version as")
    return None


def _caret(v: Version, c: Comparator) -> str | None:
    con = c.con
    if v < con:
        return _fail(v, c, "is less than")
    if con.major > 0 or c.minor_dirty:
        return None if v.major == con.major else _fail(v, c, "does not have same major version as")
    if v.major > 0:
        return _fail(v, c, "does not have same major version as")
    if con.minor > 0 or c.patch_dirty:
        if v.minor == con.minor:
            return None
        return (
            _fail(
                v,
                c,
                "does not have same minor version as",
            )
            + ". Expected minor versions to match when constraint major version is 0"
        )
    if v.minor > 0:
        return _fail(v, c, "does not have same minor version as")
    if v.patch == con.patch:
        return None
    return (
        _fail(v, c, "does not equal")
        + ". Expect version and constraint to equal when major and minor versions are 0"
    )


_OPS_TABLE: Final[dict[str, Callable[[Version, Comparator], str | None]]] = {
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
        release = not v.prerelease
        for group, has_pre in zip(self.groups, self.group_has_prerelease, strict=True):
            if not (release or has_pre or self.include_prerelease):
                continue
            if all(_OPS_TABLE[c.op](v, c) is None for c in group):
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
