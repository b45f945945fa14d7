"""Comment markers that put a scalar under a policy.

Two forms, both written as a comment on the same line as the scalar they govern
(a marker on a line of its own governs nothing and is reported):

``# automator: <policy> [(tag|name|digest|reference)]``
    Our own marker. ``<policy>`` is the rest of the comment, passed on verbatim
    (it may hold spaces: ``semver:>=1.2 <2``). The optional last word in brackets
    says which part of the image the scalar holds; without it the part follows the
    key (``tag``/``newTag`` -> tag, ``repository``/``newName`` -> name, ``digest``
    -> digest, anything else -> the whole reference).

``# {"$imagepolicy": "<namespace>:<name>[:tag|:name|:digest]"}``
    Flux v2's setter marker, resolved against the ImagePolicy in the repo.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from automator.model import Part

_AUTOMATOR = re.compile(
    r"(?:(?<=[ \t])|^)#[ \t]*automator:[ \t]*(?P<body>[^\r\n]*?)[ \t]*$", re.MULTILINE
)
_IMAGEPOLICY = re.compile(
    r'(?:(?<=[ \t])|^)#[^\r\n]*?\{[ \t]*"\$imagepolicy"[ \t]*:[ \t]*"(?P<body>[^"\r\n]*)"[ \t]*\}',
    re.MULTILINE,
)
_TARGET = re.compile(r"^(?P<policy>.*?)(?:[ \t]+\((?P<part>tag|name|digest|reference)\))?$")
_FLUX_FIELDS = {"tag": Part.TAG, "name": Part.NAME, "digest": Part.DIGEST}


@dataclass(frozen=True, slots=True)
class Marker:
    """A marker comment: what it says and where its ``#`` is."""

    kind: str  # "automator" or "imagepolicy"
    body: str  # the policy string, or the ImagePolicy's "namespace:name"
    part: Part | None  # the part it names explicitly, if any
    hash_at: int  # offset of the '#'
    line: int  # 1-based


def find_markers(text: str) -> list[Marker]:
    """Every marker comment in ``text``, in order (quoted look-alikes are weeded out later)."""
    if "automator:" not in text and "$imagepolicy" not in text:
        return []
    starts = [0] + [match.end() for match in re.finditer("\n", text)]
    found: list[Marker] = []
    for match in _AUTOMATOR.finditer(text):
        target = _TARGET.match(match.group("body"))
        assert target is not None  # the pattern matches any string
        part = Part(target.group("part")) if target.group("part") else None
        line = bisect_right(starts, match.start())
        found.append(Marker("automator", target.group("policy"), part, match.start(), line))
    for match in _IMAGEPOLICY.finditer(text):
        body, _, field = match.group("body").partition(":")
        name, _, field = field.partition(":")
        part = _FLUX_FIELDS.get(field, Part.REFERENCE if not field else None)
        line = bisect_right(starts, match.start())
        ref = f"{body}:{name}" if field == "" or part is not None else match.group("body")
        found.append(Marker("imagepolicy", ref, part, match.start(), line))
    found.sort(key=lambda marker: marker.hash_at)
    return found
