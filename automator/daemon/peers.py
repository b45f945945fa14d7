"""Which images each replica's sources use: asked of the peers, so a webhook goes only to
the replicas that need it.

Every replica computes who owns which source (:mod:`.shards`), but only the owner's
scan knows which image repositories its sources use. So each replica serves
``GET /peer/images``: the canonical names its own sources used at their last
successful scan, or ``null`` while one of them has never been scanned. The request is
signed with the webhook secret over the path and the sender's clock
(``X-Automator-Time``, within :data:`SKEW` seconds), and so is the answer (over its
body), so neither a stranger nor a forged answer can steer the forwarding.

A receiving replica asks each peer when it forwards a webhook, keeps the answer for
:data:`FRESH` seconds, and forwards to a peer whose set names one of the webhook's
images, or whose set it does not know (the peer is down, has not scanned yet, answers
wrongly): a webhook is never dropped for want of knowledge. A source that starts using
a new image is known to the other replicas within ``FRESH`` seconds of its scan; a
webhook in between reaches it at its next scheduled reconcile.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from automator.daemon.shards import Shard
from automator.daemon.webhooks import sign
from automator.secrets import Secret

logger = logging.getLogger(__name__)

PATH = "/peer/images"
FRESH = 10.0  # seconds a peer's answer is used before it is asked again
SKEW = 300.0  # seconds a signed request's clock may differ from ours
TIMEOUT = 5.0  # seconds per question
SIGNATURE, TIME = "X-Automator-Signature", "X-Automator-Time"

Get = Callable[[str, Mapping[str, str]], tuple[int, bytes, Mapping[str, str]]]  # status, body


def _get(url: str, headers: Mapping[str, str]) -> tuple[int, bytes, Mapping[str, str]]:
    answer = requests.get(url, headers=dict(headers), timeout=TIMEOUT)
    return answer.status_code, answer.content, answer.headers


def request_headers(secret: Secret, now: float) -> dict[str, str]:
    """The headers of a signed ``GET /peer/images`` sent at Unix time ``now``."""
    stamp = str(int(now))
    return {TIME: stamp, SIGNATURE: sign(secret, f"GET {PATH} {stamp}".encode())}


def request_ok(secret: Secret, headers: Mapping[str, str], now: float) -> bool:
    """Whether ``headers`` (lower-case names) sign a fresh ``GET /peer/images``."""
    stamp, signature = headers.get(TIME.lower(), ""), headers.get(SIGNATURE.lower(), "")
    if not stamp.isdigit() or abs(now - int(stamp)) > SKEW:
        return False
    return hmac.compare_digest(signature, sign(secret, f"GET {PATH} {stamp}".encode()))


def answer(secret: Secret, shard: Shard, images: frozenset[str] | None) -> tuple[bytes, str]:
    """The body of our answer and its signature."""
    listed = sorted(images) if images is not None else None
    body = json.dumps({"shard": str(shard), "images": listed}).encode()
    return body, sign(secret, body)


@dataclass(frozen=True, slots=True)
class _Known:
    images: frozenset[str]
    asked: float  # monotonic


class PeerImages:
    """The images each peer's sources use, asked of it and kept :data:`FRESH` seconds."""

    def __init__(
        self,
        secret: Secret,
        *,
        get: Get = _get,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.secret = secret
        self._get, self._clock, self._wall = get, clock, wall
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    def images(self, peer: str) -> frozenset[str] | None:
        """What ``peer`` (a base URL) uses; None when unknown (down, unscanned, unsigned)."""
        now = self._clock()
        with self._lock:
            known = self._known.get(peer)
        if known is not None and now - known.asked < FRESH:
            return known.images
        images = self._ask(peer)
        with self._lock:
            if images is None:
                self._known.pop(peer, None)
            else:
                self._known[peer] = _Known(images, now)
        return images

    def _ask(self, peer: str) -> frozenset[str] | None:
        try:
            status, body, headers = self._get(
                peer + PATH, request_headers(self.secret, self._wall())
            )
        except requests.RequestException as exc:
            logger.info("asking %s which images it uses: %s", peer, type(exc).__name__)
            return None
        said = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE.lower(), "")
        if status != 200 or not hmac.compare_digest(said, sign(self.secret, body)):
            logger.info("asking %s which images it uses: HTTP %d, or unsigned", peer, status)
            return None
        try:
            listed = json.loads(body)["images"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
            return None  # null: a source not scanned yet
        return frozenset(listed)
