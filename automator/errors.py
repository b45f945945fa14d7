"""The exception hierarchy, in one place.

    AutomatorError            base; every error the tool reports to a user
    ├── ConfigError           automator.yaml is missing, malformed or invalid
    ├── ReferenceError_       an image reference fails the distribution grammar
    ├── RegistryError         a registry refused, failed or answered nonsense
    │   └── IncompleteListing a tag listing was cut short (caps, broken paging)
    ├── ChartError            a Helm repository refused, failed or served a bad index.yaml
    ├── ManifestError         a YAML file cannot be scanned
    ├── EditError             an edit cannot be made byte-exactly
    ├── GitError              fetch, commit or push failed
    ├── ForgeError            a forge API call failed
    ├── HttpError             an HTTP exchange failed (deadline, body cap, encoding, TLS);
    │                         the registry, forge and notifier clients translate it
    └── Cancelled             a stop was asked for before a write began

Each carries ``transient``: True when retrying later can help (timeouts, 429, 5xx,
a push that lost a race), False when a person must act. Messages are one line,
name the object and say what to do next. A policy string that cannot be read is
``policies.PolicyError`` (the pure library has its own); the plan turns it into a Skip.
"""

from __future__ import annotations


class AutomatorError(Exception):
    """Base of every error automator reports."""

    transient: bool = False

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class ConfigError(AutomatorError):
    """The configuration cannot be used as written."""


class ReferenceError_(AutomatorError):
    """An image reference fails the distribution reference grammar."""


class RegistryError(AutomatorError):
    """A registry request failed."""


class IncompleteListing(RegistryError):
    """A tag listing cut short: ``tags`` is what was read.

    ``through`` is the greatest tag read when the pages came in lexical order, so
    that every tag up to it was read; None when that is not known.
    """

    def __init__(self, message: str, tags: tuple[str, ...], through: str | None) -> None:
        super().__init__(message)
        self.tags = tags
        self.through = through

    def covers(self, prefix: str) -> bool:
        """Whether every tag that starts with ``prefix`` was read (so it sorts before the cut)."""
        return bool(prefix) and self.through is not None and self.through[: len(prefix)] > prefix


class ChartError(AutomatorError):
    """A Helm chart repository request failed, or its index was refused."""


class ManifestError(AutomatorError):
    """A YAML file in the config repo cannot be scanned."""


class EditError(AutomatorError):
    """An edit cannot be made without changing other bytes."""


class GitError(AutomatorError):
    """A Git operation failed."""


class ForgeError(AutomatorError):
    """A forge (GitHub, GitLab, Gitea) API call failed."""


class HttpError(AutomatorError):
    """An HTTP exchange failed in ``automator.http``; its callers say what it means to them."""


class Cancelled(AutomatorError):
    """A stop was asked for before the write began; nothing was written."""

    transient = True
