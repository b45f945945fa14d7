"""The daemon's HTTP endpoints: ``/healthz``, ``/readyz``, ``/metrics``, the status
page ``/`` and its JSON ``/status`` (:mod:`.statuspage`), and webhooks.

``POST /webhook/<kind>`` (kinds in :data:`automator.daemon.webhooks.PARSERS`) is
checked in this order: rate limit per sender address (429), body size (411, 413),
secret or signature (401, 403), a replay of a delivery already taken (200, nothing
rescanned), payload (400); then only the repositories it names are rescanned (202),
and, when sharded, the delivery is forwarded to the replicas that use the images
(:mod:`.forward`). ``GET /peer/images`` tells a signed asker which images this replica's
sources use (:mod:`.peers`).
Plain ``http.server``: the traffic is a probe and a few webhooks. A webhook answered
before its body was read is drained (at most ``LINGER_BYTES``, ``LINGER_SECONDS``)
before the connection closes, so the sender gets the answer and not a reset.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from automator import metrics
from automator.daemon import peers
from automator.daemon.forward import FORWARDED, Forwarder
from automator.daemon.shards import UNSHARDED, Shard
from automator.daemon.status import SourceStatus, status_document
from automator.daemon.statuspage import CONTENT_SECURITY_POLICY, render_page
from automator.daemon.webhooks import (
    PARSERS,
    Auth,
    PayloadError,
    RateLimiter,
    ReplayGuard,
    authenticate,
    parse_delivery,
)
from automator.secrets import Secret

logger = logging.getLogger(__name__)

READ_TIMEOUT = 10.0  # seconds a sender may take to send its headers and body
LINGER_BYTES = 1 << 20  # an unread body is drained up to this much before we close
LINGER_SECONDS = 1.0  # ... and for at most this long


class Target(Protocol):
    """What the server asks of the daemon."""

    def trigger(
        self, images: frozenset[str], tags: frozenset[tuple[str, str]] = frozenset()
    ) -> list[str]: ...

    def ready_problems(self) -> list[str]: ...


class StatusSource(Protocol):
    """What the status page asks of the daemon."""

    def status(self) -> tuple[SourceStatus, ...]: ...


class Limits(Protocol):
    """How much webhook traffic is taken (``WebhookSettings``, or the config's ``webhooks:``)."""

    @property
    def max_body_bytes(self) -> int: ...

    @property
    def requests_per_second(self) -> float: ...

    @property
    def burst(self) -> int: ...


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # a registry may send a burst of notifications at once

    def __init__(
        self,
        address: tuple[str, int],
        target: Target,
        webhooks: Limits | None,
        secret: Secret | None,
        *,
        status: StatusSource | None = None,
        owned: str = "",
        forwarder: Forwarder | None = None,
        images: Callable[[], frozenset[str] | None] | None = None,
        shard: Shard = UNSHARDED,
    ) -> None:
        super().__init__(address, _Handler)
        self.images = images  # what this replica's sources use (None: not all scanned yet)
        self.shard = shard
        self.forwarder = forwarder  # sends each direct delivery on to the other replicas
        self.owned = owned  # a line on /readyz: the sources this replica owns
        self.target = target
        self.status = status  # None: no status page (404)
        self.webhooks = webhooks
        self.secret = secret
        self.limiter = (
            RateLimiter(webhooks.requests_per_second, webhooks.burst) if webhooks else None
        )
        self.replays = ReplayGuard()

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A sender that hangs up is not worth a traceback."""
        logger.debug("connection from %s ended with an error", client_address[0], exc_info=True)

    def start(self) -> threading.Thread:
        """Serve in a background thread; stop with ``shutdown()`` then ``server_close()``."""
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT
    server_version = "automator"

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _send(
        self,
        status: int,
        body: bytes | str,
        content_type: str = "text/plain",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._send(HTTPStatus.OK, "ok\n")
        elif path == "/readyz":
            problems = self.server.target.ready_problems()
            if problems:
                text = "".join(f"{p}\n" for p in problems) + self.server.owned
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, text)
            else:
                self._send(HTTPStatus.OK, "ready\n" + self.server.owned)
        elif path == "/metrics":
            body, content_type = metrics.exposition()
            self._send(HTTPStatus.OK, body, content_type)
        elif path in ("/", "/status") and self.server.status is not None:
            self._status(self.server.status, html=path == "/")
        elif path == peers.PATH and self.server.images is not None and self.server.secret:
            self._peer_images(self.server.images, self.server.secret)
        else:
            self._send(HTTPStatus.NOT_FOUND, "not found\n")

    def _status(self, source: StatusSource, *, html: bool) -> None:
        sources, now = source.status(), time.time()
        private = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))
        if html:
            page = render_page(sources, now)
            csp = (("Content-Security-Policy", CONTENT_SECURITY_POLICY),)
            self._send(HTTPStatus.OK, page, "text/html; charset=utf-8", private + csp)
        else:
            text = json.dumps(status_document(sources, now), indent=1) + "\n"
            self._send(HTTPStatus.OK, text, "application/json", private)

    def _peer_images(self, images: Callable[[], frozenset[str] | None], secret: Secret) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not peers.request_ok(secret, headers, time.time()):
            logger.warning(
                "%s from %s: unsigned or stale; refused", peers.PATH, self.client_address[0]
            )
            self._send(HTTPStatus.FORBIDDEN, "sign the request with the webhook secret\n")
            return
        body, signature = peers.answer(secret, self.server.shard, images())
        signed = ((peers.SIGNATURE, signature), ("Cache-Control", "no-store"))
        self._send(HTTPStatus.OK, body, "application/json", signed)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        prefix, _, kind = url.path.strip("/").partition("/")
        if prefix != "webhook" or kind not in PARSERS:
            self.close_connection = True
            self._send(HTTPStatus.NOT_FOUND, f"POST /webhook/<{'|'.join(PARSERS)}>\n")
            self._linger()
            return
        # one delivery per connection: a sender never reuses one we are closing
        self.close_connection = True
        self._body_read = False
        status, text = self._webhook(kind, dict(parse_qsl(url.query)))
        metrics.WEBHOOKS.labels(kind=kind, result=str(int(status))).inc()
        self._send(status, text, "application/json" if status == 202 else "text/plain")
        if not self._body_read:
            self._linger()

    def _linger(self) -> None:
        """We answered (429, 413, ...) without reading the body. Closing a socket with
        unread bytes makes the kernel reset the connection, and the sender may lose our
        answer; so stop writing and drain what it still sends, within small bounds."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_SECONDS)
            left = LINGER_BYTES
            while left > 0 and (chunk := self.connection.recv(min(65536, left))):
                left -= len(chunk)
        except OSError:
            pass  # the sender is gone or slow: close as we would have

    def _webhook(self, kind: str, query: dict[str, str]) -> tuple[HTTPStatus, str]:
        hooks, secret, limiter = self.server.webhooks, self.server.secret, self.server.limiter
        if hooks is None or secret is None or limiter is None:
            self.close_connection = True
            return HTTPStatus.NOT_FOUND, "webhooks are not configured (webhooks: in the config)\n"
        if not limiter.allow(self.client_address[0]):
            logger.warning("%s webhook from %s: rate limited", kind, self.client_address[0])
            return HTTPStatus.TOO_MANY_REQUESTS, "too many webhooks from this address\n"
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit() or "Transfer-Encoding" in self.headers:
            self.close_connection = True
            return HTTPStatus.LENGTH_REQUIRED, "send a Content-Length\n"
        if int(length) > hooks.max_body_bytes:
            self.close_connection = True  # the body is never read
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {hooks.max_body_bytes} bytes\n"
        body = self.rfile.read(int(length))
        self._body_read = True
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = authenticate(secret, body, headers, query)
        if auth is not Auth.OK:
            logger.warning(
                "%s webhook from %s refused: %s credentials", kind, self.client_address[0], auth
            )
            if auth is Auth.MISSING:
                return HTTPStatus.UNAUTHORIZED, "send the token or a signature\n"
            return HTTPStatus.FORBIDDEN, "wrong token or signature\n"
        forwarded = FORWARDED in headers  # from another replica: never forwarded again
        if forwarded and "x-automator-signature" not in headers:
            return HTTPStatus.FORBIDDEN, "a forwarded delivery must be signed\n"
        if not self.server.replays.first_time(kind + ("+forwarded" if forwarded else ""), body):
            logger.warning("%s webhook from %s: a replay; ignored", kind, self.client_address[0])
            return HTTPStatus.OK, "already taken; nothing to do\n"
        try:
            delivery = parse_delivery(kind, body, headers)
        except PayloadError as exc:
            return HTTPStatus.BAD_REQUEST, f"{exc}\n"
        for name in delivery.refused:
            logger.warning("%s webhook: %r is not an image reference; ignored", kind, name)
        target = self.server.target
        sources = target.trigger(delivery.images, delivery.tags) if delivery.images else []
        if self.server.forwarder is not None and not forwarded and delivery.images:
            self.server.forwarder.forward(kind, body, headers)
        logger.info(
            "%s webhook for %s: rescanning %s",
            kind,
            ", ".join(sorted(delivery.images)) or "no image",
            ", ".join(sources) or "no source",
        )
        answer = {
            "images": sorted(delivery.images),
            "sources": sources,
            "refused": delivery.refused,
        }
        return HTTPStatus.ACCEPTED, json.dumps(answer) + "\n"
