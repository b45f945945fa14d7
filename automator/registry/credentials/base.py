"""What a registry is authenticated with, where it comes from, and how long it lasts.

Two seams. A ``CredentialSource`` fetches credentials from one place (a password
file, a docker config, a cloud's identity service) and says when they expire. A
``CredentialProvider`` is what the authenticator asks at every use; ``Renewing``
turns any source into one: it fetches again when the credentials are about to
expire, when the source changed on disk, or when the registry refused them.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from automator.secrets import Secret

logger = logging.getLogger(__name__)

Clock = Callable[[], float]  # wall-clock seconds since the epoch (expiry times are absolute)
# (url, form) -> (status, body): a POST through the registry's own transport (ACR's exchange)
Post = Callable[[str, Mapping[str, str]], tuple[int, bytes]]

RENEW_MARGIN = 300.0  # renew this long before an expiry, or at 10% of a shorter lifetime
MIN_REUSE = 30.0  # an answer already expired when fetched (clock skew) is kept this long
REFETCH_AFTER_REFUSAL = 5.0  # credentials fetched more recently are not fetched again on a 401


@dataclass(frozen=True, slots=True)
class Credentials:
    """What to authenticate with; secrets stay wrapped."""

    username: str | None = None
    password: Secret | None = None
    identity_token: Secret | None = None
    source: str = "settings"  # where they came from, for error messages

    def basic(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return "Basic " + base64.b64encode(pair).decode()


ANONYMOUS = Credentials(source="no credentials")


@dataclass(frozen=True, slots=True)
class Fetched:
    """Credentials from a source, and the wall-clock time they stop working (None: never)."""

    credentials: Credentials
    expires_at: float | None = None


class CredentialSource(Protocol):
    """One place credentials come from: a file, a docker config, a cloud identity."""

    def fetch(self) -> Fetched:
        """Read or mint the credentials now; raise RegistryError naming the registry."""
        ...

    def changed(self) -> bool:
        """Has the source changed since the last fetch? Cheap (a stat); False if unknown."""
        ...


class CredentialProvider(Protocol):
    """What the authenticator asks for a registry's credentials, at every use."""

    def credentials(self) -> Credentials:
        """Credentials good to use now (fetched again when stale)."""
        ...

    def refused(self) -> None:
        """The registry answered 401 to the last credentials: fetch afresh next time."""
        ...


class Fixed:
    """Credentials that never change (given in the settings, or none)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def credentials(self) -> Credentials:
        return self._credentials

    def refused(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"Fixed({self._credentials.source!r})"


class Renewing:
    """A provider over a source: cached until near expiry, a change on disk, or a refusal."""

    def __init__(self, source: CredentialSource, clock: Clock = time.time) -> None:
        self._source = source
        self._clock = clock
        self._lock = threading.Lock()
        self._current: Credentials | None = None
        self._renew_at = 0.0
        self._fetched_at = 0.0
        self._stale = False
        self.fetches = 0

    def credentials(self) -> Credentials:
        with self._lock:  # one fetch at a time: a cloud token is minted once, not per thread
            now = self._clock()
            if (
                self._current is None
                or self._stale
                or now >= self._renew_at
                or self._source.changed()
            ):
                fetched = self._source.fetch()
                self.fetches += 1
                self._current = fetched.credentials
                self._fetched_at, self._stale = now, False
                self._renew_at = renew_at(fetched.expires_at, now, fetched.credentials.source)
            return self._current

    def refused(self) -> None:
        with self._lock:
            if self._clock() - self._fetched_at >= REFETCH_AFTER_REFUSAL:
                self._stale = True

    def __repr__(self) -> str:
        return f"Renewing({self._source!r})"


def renew_at(expires_at: float | None, now: float, source: str) -> float:
    """When to fetch again: a margin before ``expires_at`` (never, without one)."""
    if expires_at is None:
        return float("inf")
    lifetime = expires_at - now
    if lifetime <= 0:
        logger.warning(
            "credentials from %s had expired when fetched; check the clock. Reusing them for %.0fs",
            source,
            MIN_REUSE,
        )
        return now + MIN_REUSE
    return expires_at - min(RENEW_MARGIN, lifetime * 0.1)
