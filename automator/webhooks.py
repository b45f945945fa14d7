"""Registry push webhooks: who sent them, what they name, and how often.

Each payload kind has a parser that returns the image references it names; every
name must pass :func:`automator.reference.parse_reference` and only its canonical
repository name leaves this module. Authentication is a shared secret (``?token=``,
``X-Automator-Token`` or ``Authorization: Bearer``) or an HMAC-SHA256 of the body
(``X-Hub-Signature-256`` from GitHub, ``X-Automator-Signature`` otherwise), both
compared with :func:`hmac.compare_digest`. An authenticated body seen again within
``REPLAY_WINDOW`` seconds is a replay (or a sender's retry) and rescans nothing.

Payload field names follow the senders' public documentation:

- ``dockerhub``: ``repository.repo_name`` + ``push_data.tag`` (Docker Hub webhooks)
- ``distribution``: ``events[].action == "push"``, ``events[].target.repository``,
  ``.tag``, ``events[].request.host`` (distribution registry notifications)
- ``harbor``: ``type == "PUSH_ARTIFACT"``, ``event_data.resources[].resource_url``
- ``quay``: ``docker_url`` + ``updated_tags`` (Quay repository push notification)
- ``github``: ``registry_package`` / ``package`` events, ``action == "published"``,
  ``...package_version.package_url`` (GHCR)
- ``generic``: ``{"image": "ghcr.io/acme/api", "tag": "1.2.3"}``
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from automator.errors import AutomatorError, ReferenceError_
from automator.reference import parse_reference
from automator.secrets import Secret


class PayloadError(AutomatorError):
    """A webhook body is not the JSON its kind promises."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one webhook named: canonical repository names, and the names refused."""

    kind: str
    images: frozenset[str]
    refused: tuple[str, ...] = ()


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _dockerhub(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    name = _get(doc, "repository", "repo_name")
    if isinstance(name, str):
        yield f"docker.io/{name}"


def _distribution(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    events = _get(doc, "events")
    for event in events if isinstance(events, list) else []:
        if _get(event, "action") != "push" or not _get(event, "target", "tag"):
            continue  # pulls, deletes and blob or digest-only pushes change no tag
        host, repository = _get(event, "request", "host"), _get(event, "target", "repository")
        if isinstance(host, str) and isinstance(repository, str):
            yield f"{host}/{repository}"


def _harbor(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    if _get(doc, "type") != "PUSH_ARTIFACT":
        return
    resources = _get(doc, "event_data", "resources")
    for resource in resources if isinstance(resources, list) else []:
        url = _get(resource, "resource_url")
        if isinstance(url, str):
            yield url


def _quay(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    url = _get(doc, "docker_url")
    if isinstance(url, str):
        yield url


def _github(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    event = headers.get("x-github-event", "registry_package")
    if event not in ("registry_package", "package") or _get(doc, "action") != "published":
        return  # "ping" and other events name no image
    package = _get(doc, event)
    url = _get(package, "package_version", "package_url")
    if isinstance(url, str) and url:
        yield url
    elif isinstance(_get(package, "namespace"), str) and isinstance(_get(package, "name"), str):
        yield f"ghcr.io/{package['namespace'].lower()}/{package['name'].lower()}"


def _generic(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    image = _get(doc, "image")
    if not isinstance(image, str):
        raise PayloadError('expected {"image": "registry/repository", "tag": "..."}')
    yield image


PARSERS: dict[str, Callable[[Any, Mapping[str, str]], Iterator[str]]] = {
    "dockerhub": _dockerhub,
    "distribution": _distribution,
    "harbor": _harbor,
    "quay": _quay,
    "github": _github,
    "generic": _generic,
}


def parse_delivery(kind: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Read a ``kind`` payload; ``headers`` keys are lower-case. Raises PayloadError."""
    parser = PARSERS.get(kind)
    if parser is None:
        raise PayloadError(f"unknown webhook kind {kind!r}; use one of {', '.join(PARSERS)}")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError(f"{kind} webhook: the body is not JSON") from None
    images: set[str] = set()
    refused: list[str] = []
    for text in parser(doc, headers):
        try:
            images.add(parse_reference(text).canonical_name)
        except ReferenceError_:
            refused.append(text[:200])
    return Delivery(kind, frozenset(images), tuple(refused))


REPLAY_WINDOW = 300.0  # seconds a delivery is remembered


class ReplayGuard:
    """Remembers the deliveries of the last ``window`` seconds, at most ``max_entries``."""

    def __init__(
        self,
        window: float = REPLAY_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
    ) -> None:
        self.window, self._clock, self._max = window, clock, max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()  # digest -> when, oldest first
        self._lock = threading.Lock()

    def first_time(self, kind: str, body: bytes) -> bool:
        """True the first time ``body`` arrives for ``kind`` within the window."""
        key = hashlib.sha256(kind.encode() + b"\0" + body).hexdigest()
        now = self._clock()
        with self._lock:
            while self._seen and (
                len(self._seen) >= self._max or next(iter(self._seen.values())) <= now - self.window
            ):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
        return True


class Auth(StrEnum):
    OK = "ok"
    MISSING = "missing"  # nothing to check: 401
    BAD = "bad"  # a token or signature that does not match: 403


def authenticate(
    secret: Secret, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]
) -> Auth:
    """Check an HMAC signature of ``body`` if one is sent, else a shared token."""
    key = secret.reveal().encode()
    for header in ("x-hub-signature-256", "x-automator-signature"):
        if header in headers:
            algorithm, _, signature = headers[header].partition("=")
            expected = hmac.new(key, body, hashlib.sha256).hexdigest()
            ok = algorithm == "sha256" and hmac.compare_digest(
                signature.encode(), expected.encode()
            )
            return Auth.OK if ok else Auth.BAD
    token = query.get("token") or headers.get("x-automator-token")
    if token is None and "authorization" in headers:
        token = headers["authorization"].removeprefix("Bearer ").strip()
    if token is None:
        return Auth.MISSING
    return Auth.OK if hmac.compare_digest(token.encode(), key) else Auth.BAD


def sign(secret: Secret, body: bytes) -> str:
    """The ``X-Automator-Signature`` value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()


class RateLimiter:
    """A token bucket per sender; remembers at most ``max_senders`` of them."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = 10_000,
    ) -> None:
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._max = max_senders
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def allow(self, sender: str) -> bool:
        """Take one token from ``sender``'s bucket; False when it is empty."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(sender, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[sender] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return allowed
