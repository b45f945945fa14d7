"""Argo CD Image Updater settings read as one of our policies.

Argo reads a strategy and the ``allow-tags`` match kind case-insensitively
(``strings.ToLower``); so do we. Two deliberate differences, both a refusal where
Argo would quietly carry on: an unknown strategy is a ``PolicyError`` (Argo logs a
warning and uses semver), and an ``allow-tags`` value that is neither ``any`` nor
``regexp:<re>`` is a ``PolicyError`` (Argo matches no tag at all). A semver strategy
carries ``variants=off``: Argo orders tags as Masterminds does, and so do we for it.
"""

from __future__ import annotations

from typing import Final

from policies.errors import PolicyError
from policies.grammar import quote
from policies.policy import Policy, parse_policy

# Argo's strategy names (registry-scanner ParseUpdateStrategy) and ours
ARGO_STRATEGIES: Final = {
    "semver": "semver",
    "latest": "newest-build",
    "newest-build": "newest-build",
    "name": "alphabetical",
    "alphabetical": "alphabetical",
    "digest": "digest",
}


def from_argo(
    strategy: str = "semver",
    constraint: str | None = None,
    *,
    allow_tags: str | None = None,
    ignore_tags: tuple[str, ...] = (),
    platform: str | None = None,
) -> Policy:
    """The policy for an Argo CD Image Updater image (update-strategy and its settings).

    ``allow_tags`` is Argo's ``regexp:<re>`` or ``any``; ``ignore_tags`` its globs.
    Raises ``PolicyError`` (one line) for an unknown strategy or match kind.
    """
    kind = ARGO_STRATEGIES.get(strategy.strip().lower())
    if kind is None:
        known = ", ".join(ARGO_STRATEGIES)
        raise PolicyError(
            f"update-strategy {strategy!r} is not one of {known}"
            " (Argo would fall back to semver; automator refuses)"
        )
    if kind == "digest" and not constraint:
        raise PolicyError("update-strategy digest needs the tag to follow: image:<tag>")
    text = f"{kind}:{quote(constraint)}" if kind in ("semver", "digest") and constraint else kind
    if kind == "semver":
        text += ";variants=off"  # Argo reads -alpine as a Masterminds prerelease; so do we here
    if allow_tags is not None and allow_tags.strip().lower() not in ("", "any"):
        text += ";filter=" + quote(_allow_regex(allow_tags))
    text += "".join(";ignore=" + quote(glob) for glob in ignore_tags)
    if platform:
        text += ";platform=" + platform
    return parse_policy(text)


def _allow_regex(allow_tags: str) -> str:
    """The regex of ``regexp:<re>`` (match kind case-insensitive), or PolicyError."""
    match_kind, colon, expression = allow_tags.partition(":")
    if not colon or match_kind.strip().lower() != "regexp":
        raise PolicyError(
            f"allow-tags {allow_tags!r} is neither 'any' nor 'regexp:<expression>'"
            " (Argo would match no tag; automator refuses)"
        )
    return expression
