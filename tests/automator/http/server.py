"""A local HTTP server for the edge's tests: statuses, encodings, floods and drips.

It counts what it was asked (``hits`` by path) and what it managed to write before
the client left (``written``; ``gone`` is set when a write failed), so tests can bound
what a request cost without a clock.
"""

from __future__ import annotations

import gzip
import itertools
import socket
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from testing import quiet_handler

TEXT = b'{"tags": ["1.0", "1.1"]}'
BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB of zeros, ~64 KiB
DRIP_BYTES = 5000  # dripped at DRIP_EVERY s a byte: minutes, unless the client hangs up
DRIP_EVERY = 0.02
ENCODED = {
    "gzip": ("gzip", gzip.compress(TEXT)),
    "deflate": ("deflate", zlib.compress(TEXT)),
    "corrupt": ("gzip", gzip.compress(TEXT)[:12] + b"\x00garbage\xff" * 8),
    "br": ("br", b"\x0b\x02\x80"),
    "bomb": ("gzip", BOMB),
    "truncated": ("gzip", gzip.compress(TEXT * 100)[:-30]),  # a whole answer of a cut stream
}
SHORT = (100_000, 5000)  # /short declares the first, sends the second, and closes


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up are what some routes are for


class EdgeServer:
    """Routes: /ok, /status/<code>[?retry_after=], /flaky/<key>/<n>, /encoded/<kind>,
    /declared, /endless, /drip, /reset, /short."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.written: Counter[str] = Counter()
        self.gone: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        server = self

        Handler = quiet_handler(server._handle, "GET", "POST", "HEAD")

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.host}"

    def __enter__(self) -> EdgeServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        with self._lock:
            self.hits[path] += 1
            count = self.hits[path]
            self.gone.setdefault(path, threading.Event())
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        kind, _, rest = path.strip("/").partition("/")
        if kind == "ok":
            links = '</ok?page=2>; rel="next"'
            return _send(h, 200, TEXT, {"X-Thing": "1", "Link": links})
        if kind == "status":
            retry_after = parse_qs(parts.query).get("retry_after", [""])[0]
            headers = {"Retry-After": retry_after} if retry_after else {}
            return _send(h, int(rest), b"{}", headers)
        if kind == "flaky":  # /flaky/<key>/<n>: 503 (Retry-After: 0.5) n times, then 200
            if count <= int(rest.rpartition("/")[2]):
                return _send(h, 503, b"{}", {"Retry-After": "0.5"})
            return _send(h, 200, b"done")
        if kind == "encoded":
            encoding, body = ENCODED[rest]
            return _send(h, 200, body, {"Content-Encoding": encoding})
        if kind == "declared":
            return _send(h, 200, b"{}", {"Content-Length": str(10 * 1024 * 1024)}, length=False)
        if kind == "endless":
            h.send_response(200)
            h.send_header("Connection", "close")  # the body ends when the connection does
            h.end_headers()
            return self._pour(h, path, b"x" * 65536, every=0.0, times=None)
        if kind == "drip":
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            return self._pour(h, path, b"y", every=DRIP_EVERY, times=DRIP_BYTES)
        if kind == "short":
            h.close_connection = True
            return _send(h, 200, b"z" * SHORT[1], {"Content-Length": str(SHORT[0])}, length=False)
        if kind == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            h.connection.close()
            h.close_connection = True
            return None
        return _send(h, 404, b"{}")

    def _pour(
        self, h: BaseHTTPRequestHandler, path: str, chunk: bytes, every: float, times: int | None
    ) -> None:
        h.close_connection = True
        try:
            for _ in itertools.count() if times is None else range(times):
                h.wfile.write(chunk)
                h.wfile.flush()
                with self._lock:
                    self.written[path] += len(chunk)
                if every:
                    time.sleep(every)
        except OSError:
            self.gone[path].set()


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    length: bool = True,
) -> None:
    h.send_response(status)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    if length:
        h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if h.command != "HEAD":
        try:
            h.wfile.write(body)
        except OSError:
            h.close_connection = True
