"""Errors raised by the policies library.

    PolicyError (ValueError)     a policy string, range, pattern or option cannot be read
    ├── VersionError             a text is not a version under the chosen parser
    └── ConstraintError          a semver range cannot be read

Every message is one line. ``code`` names the upstream sentinel where there is one
(``ErrInvalidSemVer``...), so tests and callers can tell failures apart without
matching prose. The library imports nothing from ``automator``; the engine translates
these into its own ``automator.errors.PolicyError`` at the edge.
"""

from __future__ import annotations


class PolicyError(ValueError):
    """A policy string (or a part of it) cannot be read."""

    code: str

    def __init__(self, message: str, *, code: str = "ErrPolicy") -> None:
        super().__init__(message)
        self.code = code


class VersionError(PolicyError):
    """A text is not a version under the chosen parser."""


class ConstraintError(PolicyError):
    """A semver range (Masterminds constraint) cannot be read."""
