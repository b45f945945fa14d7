"""What goes wrong at the HTTP edge: one "try again" signal and the failures under HttpError.

    Again                     an attempt failed in a way another attempt may fix
    HttpError                 (automator.errors) base of the failures below
    ├── DeadlinePassed        the call's deadline came first (transient)
    ├── TooLarge              the answer is over its byte limit
    ├── BadEncoding           the answer uses a Content-Encoding we did not ask for
    ├── CorruptBody           the compressed answer does not decode (transient)
    ├── TlsFailed             the TLS handshake failed
    └── PrivateAddress        a guarded request would reach a non-public address (``address``)

Messages start with the call's name (``Deadline.what``) and never hold a URL; callers
add the advice (``raise RegistryError(...) from exc``).
"""

from __future__ import annotations

from automator.errors import AutomatorError, HttpError


class Again(Exception):
    """A failed attempt that another attempt may fix, after ``wait`` seconds if given.

    ``error`` is what the caller raises when no attempt is left; without it the caller
    words its own from ``reason``. The retry loop sets ``attempts`` when it gives up.
    """

    def __init__(
        self, reason: str, wait: float | None = None, *, error: AutomatorError | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.error = error
        self.attempts = 1

    @property
    def kind(self) -> str:
        """The class name of what caused this (``ConnectionError``, ``ReadTimeout``)."""
        cause = self.__cause__
        return type(cause).__name__ if cause is not None else type(self).__name__


class DeadlinePassed(HttpError):
    """The call ran out of time; ``cut`` when the watchdog hung up on a request in flight."""

    transient = True

    def __init__(self, what: str, seconds: float, *, cut: bool = False) -> None:
        super().__init__(f"{what}: gave up at the deadline")
        self.what = what
        self.seconds = seconds
        self.cut = cut


class TooLarge(HttpError):
    """The answer is over ``cap`` bytes (``size`` when it said so up front)."""

    def __init__(self, what: str, cap: int, size: int | None = None) -> None:
        said = "" if size is None else f" of {size} bytes"
        super().__init__(f"{what}: answer{said} is over the {cap}-byte limit")
        self.cap = cap
        self.size = size


class BadEncoding(HttpError):
    """The answer's Content-Encoding is not one we asked for."""

    def __init__(self, what: str, encoding: str) -> None:
        super().__init__(f"{what}: answer in unsupported Content-Encoding {encoding[:40]!r}")


class CorruptBody(HttpError):
    """The answer's compressed body does not decode."""

    transient = True

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: answer's compressed body is corrupt")


class TlsFailed(HttpError):
    """The TLS handshake failed; ``detail`` is the TLS library's reason."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: TLS failed ({detail})")
        self.detail = detail
