"""Webhooks under sharding: the replica a delivery lands on passes it to the others.

A registry sends one webhook to the Service, which picks one replica; the sources
that use the named images may be owned by any replica, and only a replica's own scan
knows which images its sources use. So the receiving replica rescans its own sources
and posts the delivery, unchanged, to each other replica whose sources use one of the
named images, or whose images it does not know (:mod:`.peers` asks them), at
``peer_url`` with ``{index}`` (the headless Service's stable names), signed with the same secret
(``X-Automator-Signature``) and marked ``X-Automator-Forwarded``. A marked delivery is
never forwarded again, so no loop is possible, and it is remembered by the replay
guard apart from direct deliveries, so a forwarded copy is never taken for a replay
of what the registry sent.

Each peer is tried ``ATTEMPTS`` times with a short backoff, in a background thread (the
registry is answered at once). A peer that is down loses nothing: a replica that
starts reconciles every source it owns at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import requests

from automator.daemon.peers import PeerImages
from automator.daemon.shards import Shard
from automator.daemon.webhooks import PayloadError, parse_delivery, sign
from automator.secrets import Secret

logger = logging.getLogger(__name__)

FORWARDED = "x-automator-forwarded"  # the marker: the sender's shard, e.g. 0/4
ATTEMPTS = 4  # tries per peer
BACKOFF = 0.5  # seconds before the second try; doubles
TIMEOUT = 5.0  # seconds per try
# what the receiver's own parsers may read; auth is replaced by our signature
_KEPT = ("content-type", "user-agent", "x-github-event", "x-github-delivery", "x-harbor-event")

Post = Callable[[str, bytes, Mapping[str, str]], int]  # url, body, headers -> HTTP status


def peer_urls(template: str, shard: Shard) -> tuple[str, ...]:
    """The other replicas' base URLs: ``template`` with ``{index}`` for each index."""
    return tuple(
        template.replace("{index}", str(i)).rstrip("/")
        for i in range(shard.count)
        if i != shard.index
    )


def _post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
    return requests.post(url, data=body, headers=dict(headers), timeout=TIMEOUT).status_code


class Forwarder:
    """Posts a delivery to each peer in a background thread, with retries."""

    def __init__(
        self,
        peers: Sequence[str],
        secret: Secret,
        shard: Shard,
        *,
        post: Post = _post,
        sleep: Callable[[float], None] = time.sleep,
        directory: PeerImages | None = None,
    ) -> None:
        self.peers, self.secret, self.shard = tuple(peers), secret, shard
        self._post, self._sleep = post, sleep
        self.directory = directory if directory is not None else PeerImages(secret)
        self.passed_over = 0  # deliveries not sent: the peer's sources use none of the images

    def forward(self, kind: str, body: bytes, headers: Mapping[str, str]) -> threading.Thread:
        """Send ``body`` (a ``kind`` webhook) on to each peer whose sources use one of the
        images it names, or may (:mod:`.peers`); returns the sending thread."""
        try:
            images: frozenset[str] | None = parse_delivery(kind, body, headers).images
        except PayloadError:
            images = None  # the receiver took it, so it parses: to every peer all the same
        kept = {k: v for k, v in headers.items() if k.lower() in _KEPT}
        kept["X-Automator-Signature"] = sign(self.secret, body)
        kept["X-Automator-Forwarded"] = str(self.shard)
        thread = threading.Thread(
            target=self._send_all, args=(kind, body, kept, images), name="forward", daemon=True
        )
        thread.start()
        return thread

    def _send_all(
        self, kind: str, body: bytes, headers: Mapping[str, str], images: frozenset[str] | None
    ) -> None:
        for peer in self.peers:
            uses = self.directory.images(peer) if images is not None else None
            if uses is not None and images is not None and not uses & images:
                self.passed_over += 1
                logger.debug("%s uses none of %s; not forwarded", peer, ", ".join(sorted(images)))
                continue
            self.send(f"{peer}/webhook/{kind}", body, headers)

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """Post to one peer until it answers 2xx (or 4xx: retrying will not help)."""
        wait = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status = self._post(url, body, headers)
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}"
            else:
                if status < 300:
                    return True
                if 400 <= status < 500 and status != 429:
                    logger.warning("forwarding a webhook to %s: HTTP %d; not retried", url, status)
                    return False
                problem = f"HTTP {status}"
            if attempt < ATTEMPTS:
                self._sleep(wait)
                wait *= 2
        logger.warning(
            "forwarding a webhook to %s: %s after %d tries; it rescans all it owns when it"
            " starts, so nothing is lost if it was down",
            url,
            problem,
            ATTEMPTS,
        )
        return False
