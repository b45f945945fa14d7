"""Versions as Masterminds/semver v3 reads and orders them.

Three parsers, because the tools we stand in for disagree:

* ``parse_version`` is Masterminds ``NewVersion`` (loose, what Argo CD Image Updater
  and Flux v1 call): optional lowercase ``v``, missing minor/patch become 0, leading
  zeros in the numbers are dropped (``2023.11.05`` is 2023.11.5).
* ``parse_strict`` is ``StrictNewVersion``: exactly ``M.m.p[-pre][+meta]``, no ``v``,
  no leading zeros.
* ``parse_flux`` is Flux's ``ParseVersion``: strip one ``v``, require strict, then
  return the loose parse of the whole tag (so the tag keeps its ``v``).

All three accept ASCII digits only, refuse any whitespace (a trailing newline too),
bound every number to 64 bits and, like v3.5.0, refuse texts over 256 bytes.

Ordering (``Version.compare`` and the rich comparisons) is SemVer 2.0 precedence as
Masterminds implements it: build metadata is ignored, numeric prerelease identifiers
that fit in 64 bits compare as numbers and below alphanumeric ones, and anything else
compares byte-wise. ``Version.key`` is a plain tuple with that order, for sorting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from policies.errors import VersionError

MAX_UINT64: Final = 2**64 - 1
MAX_VERSION_BYTES: Final = 256

_LOOSE: Final = re.compile(
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_IDENT: Final = re.compile(r"[0-9A-Za-z-]+")
_DIGITS: Final = re.compile(r"[0-9]*")

# One prerelease identifier as an order key: numbers (that fit in 64 bits) first.
PreKey = tuple[int, int | str]
VersionKey = tuple[int, int, int, int, tuple[PreKey, ...]]


def _pre_key(prerelease: str) -> tuple[PreKey, ...]:
    parts: list[PreKey] = []
    for ident in prerelease.split("."):
        if ident.isdigit() and ident.isascii() and int(ident) <= MAX_UINT64:
            parts.append((0, int(ident)))
        else:
            parts.append((1, ident))
    return tuple(parts)


pre_key = _pre_key  # the prerelease order key, for policies.variants


@dataclass(frozen=True, slots=True, eq=False)
class Version:
    """A parsed version; ``original`` is the text it was read from."""

    major: int
    minor: int
    patch: int
    prerelease: str = ""
    metadata: str = ""
    original: str = ""
    key: VersionKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        pre = _pre_key(self.prerelease) if self.prerelease else ()
        key = (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)
        object.__setattr__(self, "key", key)

    def __str__(self) -> str:
        """The canonical form, Masterminds ``String()``: no ``v``, zeros filled in."""
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + self.prerelease
        if self.metadata:
            text += "+" + self.metadata
        return text

    def compare(self, other: Version) -> int:
        """-1, 0 or 1 by precedence; build metadata is ignored."""
        return (self.key > other.key) - (self.key < other.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key

    def inc_patch(self) -> Version:
        """Masterminds ``IncPatch``: a prerelease drops to its release, else patch + 1."""
        patch = self.patch if self.prerelease else self.patch + 1
        return self._bumped(self.major, self.minor, patch)

    def inc_minor(self) -> Version:
        """Masterminds ``IncMinor``."""
        return self._bumped(self.major, self.minor + 1, 0)

    def inc_major(self) -> Version:
        """Masterminds ``IncMajor``."""
        return self._bumped(self.major + 1, 0, 0)

    def _bumped(self, major: int, minor: int, patch: int) -> Version:
        if max(major, minor, patch) > MAX_UINT64:
            raise VersionError(
                f"{self.original!r}: increment overflows 64 bits", code="ErrOverflow"
            )
        prefix = "v" if self.original.startswith("v") else ""
        return Version(major, minor, patch, original=f"{prefix}{major}.{minor}.{patch}")


def _uint(text: str, tag: str) -> int:
    value = int(text)
    if value > MAX_UINT64:
        raise VersionError(f"{tag!r}: {text} does not fit in 64 bits", code="ErrOutOfRange")
    return value


def _too_long(tag: str) -> bool:
    return len(tag) > MAX_VERSION_BYTES // 4 and len(tag.encode()) > MAX_VERSION_BYTES


def _check_length(tag: str) -> None:
    if _too_long(tag):
        raise VersionError(
            f"{tag[:40]!r}...: longer than {MAX_VERSION_BYTES} bytes", code="ErrVersionTooLong"
        )


def validate_prerelease(text: str) -> None:
    """Raise unless ``text`` (after ``-``) is a valid prerelease: no leading zeros."""
    for ident in text.split("."):
        if not _IDENT.fullmatch(ident):
            raise VersionError(f"{text!r}: invalid prerelease string", code="ErrInvalidPrerelease")
        if len(ident) > 1 and ident[0] == "0" and _DIGITS.fullmatch(ident):
            raise VersionError(
                f"{text!r}: prerelease segment starts with 0", code="ErrSegmentStartsZero"
            )


def validate_metadata(text: str) -> None:
    """Raise unless ``text`` (after ``+``) is valid build metadata."""
    for ident in text.split("."):
        if not _IDENT.fullmatch(ident):
            raise VersionError(f"{text!r}: invalid metadata string", code="ErrInvalidMetadata")


def parse_version(tag: str, *, coerce: bool = True, detailed_errors: bool = True) -> Version:
    """Masterminds ``NewVersion`` (loose). ``coerce=False`` refuses leading zeros."""
    _check_length(tag)
    m = _LOOSE.fullmatch(tag)
    if m is None:
        raise VersionError(f"{tag!r}: invalid semantic version", code="ErrInvalidSemVer")
    return _from_match(m, tag, coerce, detailed_errors)


def _from_match(m: re.Match[str], tag: str, coerce: bool, detailed_errors: bool) -> Version:
    major_s, minor_s, patch_s, pre, meta = m.groups()
    try:
        if pre:
            validate_prerelease(pre)
        if not coerce:
            for part in (major_s, minor_s, patch_s):
                digits = (part or "").lstrip(".")
                if len(digits) > 1 and digits[0] == "0":
                    raise VersionError(
                        f"{tag!r}: version segment starts with 0", code="ErrSegmentStartsZero"
                    )
    except VersionError as exc:
        if detailed_errors:
            raise
        raise VersionError(f"{tag!r}: invalid semantic version", code="ErrInvalidSemVer") from exc
    return Version(
        _uint(major_s, tag),
        _uint(minor_s[1:], tag) if minor_s else 0,
        _uint(patch_s[1:], tag) if patch_s else 0,
        pre or "",
        meta or "",
        tag,
    )


def parse_strict(tag: str) -> Version:
    """Masterminds ``StrictNewVersion``: ``M.m.p[-pre][+meta]`` exactly (SemVer 2.0)."""
    if not tag:
        raise VersionError("empty version", code="ErrEmptyString")
    _check_length(tag)
    parts = tag.split(".", 2)
    if len(parts) != 3:
        raise VersionError(f"{tag!r}: invalid semantic version", code="ErrInvalidSemVer")
    rest, _, meta = parts[2].partition("+")
    if "+" in parts[2]:
        validate_metadata(meta)
    patch, _, pre = rest.partition("-")
    if "-" in rest:
        validate_prerelease(pre)
    numbers = (parts[0], parts[1], patch)
    for part in numbers:
        if not _DIGITS.fullmatch(part):
            raise VersionError(
                f"{tag!r}: invalid characters in version", code="ErrInvalidCharacters"
            )
        if len(part) > 1 and part[0] == "0":
            raise VersionError(
                f"{tag!r}: version segment starts with 0", code="ErrSegmentStartsZero"
            )
        if not part:
            raise VersionError(f"{tag!r}: empty version segment", code="ErrInvalidSemVer")
    major, minor, patch_n = (_uint(p, tag) for p in numbers)
    return Version(major, minor, patch_n, pre, meta, tag)


_STRICT_SHAPE: Final = re.compile(
    r"v?(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)"
    r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
)


def try_version(tag: str, *, flux: bool = False) -> Version | None:
    """``parse_version`` (or ``parse_flux``) returning None instead of raising.

    A cheap shape check runs first, so tags that are obviously not versions (most of a
    busy repository's CI tags) cost one regex and no exception.
    """
    m = (_STRICT_SHAPE if flux else _LOOSE).fullmatch(tag)
    if m is None:
        return None
    try:
        if flux:
            return parse_flux(tag)
        _check_length(tag)
        return _from_match(m, tag, True, True)
    except VersionError:
        return None


def loose_key(tag: str) -> tuple[VersionKey, bool] | None:
    """``try_version(tag)`` as ``(key, has build metadata)``, without building a Version.

    Selection reads thousands of tags and only needs their order, so this does the
    same checks as ``parse_version`` on the one match and nothing more.
    """
    m = _LOOSE.fullmatch(tag)
    if m is None or _too_long(tag):
        return None
    major_s, minor_s, patch_s, pre, meta = m.groups()
    major = int(major_s)
    minor = int(minor_s[1:]) if minor_s else 0
    patch = int(patch_s[1:]) if patch_s else 0
    if major > MAX_UINT64 or minor > MAX_UINT64 or patch > MAX_UINT64:
        return None
    if not pre:
        return (major, minor, patch, 1, ()), bool(meta)
    try:
        validate_prerelease(pre)
    except VersionError:
        return None
    return (major, minor, patch, 0, _pre_key(pre)), bool(meta)


def parse_flux(tag: str) -> Version:
    """Flux ``ParseVersion``: strict after removing one ``v``, read loosely to keep it."""
    parse_strict(tag.removeprefix("v"))
    return parse_version(tag)
