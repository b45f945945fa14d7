"""Image variants: ``1.2.3-alpine`` is release 1.2.3 of the ``alpine`` family, not a prerelease.

Masterminds reads everything after ``-`` as a prerelease, so ``1.2.4-alpine`` is below
``1.2.4`` and excluded by most ranges. Image tags use the suffix for a *variant* of the
same release (``-alpine``, ``-jre17``, ``-debian-12``), and the number of version parts
for how closely the user follows upstream (``2.3`` follows the 2.x minors, never a
``2.3.2`` patch). Read as a variant, a tag is

    [v] N[.N[.N]] [-<family>] [-r<build>] [+<metadata>]

* the *family* is the suffix, compared exactly (``-debian-12`` is not ``-debian-11``);
* the *precision* is the count of numbers (1 to 3);
* ``-r<digits>`` at the end (Bitnami's rebuild counter) is a *build number*: ordered
  after the version, and a tag with one belongs to a different family than a tag
  without (immutable ``-r3`` tags never move to a rolling tag);
* a suffix that starts with a prerelease word (``rc``, ``beta``, ``alpha``, ``pre``,
  ``preview``, ``dev``, ``snapshot``, ``canary``, ``nightly``) or is all digits stays a
  Masterminds prerelease of the family without suffix.

A candidate is eligible only in the current tag's family (suffix, precision, build
numbers or not). The rules and examples are in ``docs/variants.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from policies.decision import Refusal
from policies.errors import VersionError
from policies.semver import MAX_UINT64, MAX_VERSION_BYTES, VersionKey, pre_key, validate_prerelease

_VARIANT: Final = re.compile(
    r"v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?"
    r"(?:-([0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_BUILD: Final = re.compile(r"(?:^|-)r([0-9]+)$")
_PRERELEASE: Final = re.compile(
    r"(?:alpha|beta|rc|pre|preview|dev|snapshot|canary|nightly)(?:[.-]?[0-9]+)*(?:[.-].*)?"
    r"|[0-9]+(?:\.[0-9]+)*",
    re.IGNORECASE,
)

VariantKey = tuple[VersionKey, int]  # the version, then the build number


@dataclass(frozen=True, slots=True)
class Variant:
    """A tag read as a variant. ``build`` is None without a ``-r<n>`` suffix."""

    numbers: tuple[int, ...]
    suffix: str = ""
    build: int | None = None
    prerelease: str = ""
    metadata: bool = False

    @property
    def family(self) -> tuple[int, str, bool]:
        """What a candidate must share with the current tag: precision, suffix, builds."""
        return len(self.numbers), self.suffix, self.build is not None

    @property
    def version_key(self) -> VersionKey:
        """The Masterminds order key of the numbers (and prerelease), for ranges."""
        major, minor, patch = (*self.numbers, 0, 0)[:3]
        pre = pre_key(self.prerelease) if self.prerelease else ()
        return major, minor, patch, 0 if self.prerelease else 1, pre

    @property
    def key(self) -> VariantKey:
        """The order within a family: version, then build number."""
        return self.version_key, self.build or 0

    def describe(self) -> str:
        """The family in words, e.g. ``-debian-12 with -r<n> builds, 3 parts``."""
        suffix = f"-{self.suffix}" if self.suffix else "no suffix"
        builds = " with -r<n> builds" if self.build is not None else ""
        parts = len(self.numbers)
        return f"{suffix}{builds}, {parts} part{'s' if parts > 1 else ''}"


def read_variant(tag: str) -> Variant | None:
    """``tag`` read as a variant, or None when it is not one (or over 256 bytes)."""
    if len(tag.encode()) > MAX_VERSION_BYTES:
        return None
    m = _VARIANT.fullmatch(tag)
    if m is None:
        return None
    numbers = tuple(int(n) for n in m.group(1, 2, 3) if n is not None)
    if max(numbers) > MAX_UINT64:
        return None
    suffix, build, prerelease = m.group(4) or "", None, ""
    if suffix and _PRERELEASE.fullmatch(suffix):
        try:
            validate_prerelease(suffix)
        except VersionError:
            return None
        suffix, prerelease = "", suffix
    elif found := _BUILD.search(suffix):
        build, suffix = int(found.group(1)), suffix[: found.start()]
    return Variant(numbers, suffix, build, prerelease, m.group(5) is not None)


def variant_note(
    family: Variant | None, current: str | None, places: Sequence[Refusal | None]
) -> str:
    """What a decision's reason adds when the variant rule made a difference, else ""."""
    if family is None:
        return ""
    plain = family.family == (3, "", False)
    if plain and not any(p is not None and p.code == "other-variant" for p in places):
        return ""
    return f"; variant {family.describe()}, kept from {current}"
