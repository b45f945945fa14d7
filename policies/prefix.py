"""The fixed text every tag a policy can pick starts with, read from its patterns.

Registries list tags in lexical order, so a listing cut short still holds every tag
up to where it stopped, and a listing can start at a prefix (``last=``). A policy
whose ``filter=`` is anchored (``^v1\\.``) or whose ``glob:`` or ``regex:`` begins
with literal text can only pick tags that start with that text. Anything this
module cannot read for certain (alternation, flags, classes) gives no prefix.
"""

from __future__ import annotations

import regex

from policies.filters import Pattern
from policies.policy import Policy

_META = frozenset(".^$*+?{}[]()|\\")
_QUANTIFIERS = ("*", "+", "?", "{")


def literal_prefix(policy: Policy) -> str:
    """The longest prefix every tag ``policy`` can select must start with ("" if none)."""
    found = ""
    if policy.match is not None:  # glob: is matched whole, regex: is searched
        found = _leading_literal(policy.match, anchored=policy.kind != "regex")
    if policy.filter is not None:
        from_filter = _leading_literal(policy.filter, anchored=False)
        found = max(found, from_filter, key=len)
    return found


def _leading_literal(pattern: Pattern, *, anchored: bool) -> str:
    text = pattern.pattern
    if pattern.flags & regex.IGNORECASE or "|" in text:
        return ""
    if not anchored:
        if not text.startswith("^"):
            return ""
        text = text[1:]
    out: list[str] = []
    at = 0
    while at < len(text):
        char, step = text[at], 1
        if char == "\\":
            char, step = text[at + 1 : at + 2], 2
            if not char or char.isalnum():  # \d, \w, \x41, \1: not one fixed character
                break
        elif char in _META:
            break
        if text[at + step : at + step + 1] in _QUANTIFIERS:
            break  # "v?" or "v*" may be absent
        out.append(char)
        at += step
    return "".join(out)
