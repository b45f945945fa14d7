"""A registry that lies: a small /v2/ server on 127.0.0.1 for the hostile-input campaign.

Each repository name picks a behaviour (``HostileRegistry.url`` + ``/v2/<name>/...``):

- ``evil/app``: tags with newlines, quotes, ``{{ }}``, ``<script>``, a 1 MB string, unicode
  look-alikes, non-strings, and three honest tags ``1.4.2 1.4.3 1.5.0``
- ``many/app``: 500,000 tags, paged by ``n`` with ``Link`` (generated, never stored)
- ``loop/app``: a ``Link`` back to the same page, forever
- ``foreign/app``: a ``Link`` to another host (the ``other`` recorder)
- ``redirect/app``: asks for Basic credentials, then 307s every request to ``other``
- ``bomb/app``: a gzip body that expands to ``BOMB_BYTES`` (past any sane cap)
- ``lying/app``: manifests whose ``Docker-Content-Digest`` is wrong or malformed
- ``slowbody/app``: headers at once, then one body byte every ``drip`` seconds
- ``slowhead/app``: the status line and headers one byte every ``drip`` seconds
- ``metadata/app``: 302s every request to ``internal`` (a stand-in for the cloud
  metadata service at 169.254.169.254: a listener that counts connections)
- ``downgrade/app``: 302s every request to the same path over plain HTTP

With ``tls``, the registry itself answers over HTTPS (for the downgrade).

The ``other`` server sits on another host name (``localhost`` rather than
``127.0.0.1``) and records every path and ``Authorization`` header it receives;
it offers the tag ``stolen``.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
import zlib
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from testing import quiet_handler
from testing.listener import CountingListener
from testing.proxy import Recorder
from testing.registry import TLSFiles

HONEST = ["1.4.2", "1.4.3", "1.5.0"]
LOOKALIKE = "1.4.\u0669"  # ARABIC-INDIC DIGIT NINE: \w in unicode regexes, not in ASCII ones
EVIL_TAGS: list[Any] = [
    "1.4.9\nkind: Secret",
    '1.4.9"',
    "1.4.9'",
    "{{ .Values.tag }}",
    "1.4.9 # comment",
    "1.4.9: x",
    "x" * 1_000_000,
    LOOKALIKE,
    "1\u20244\u20249",  # ONE DOT LEADER in place of dots
    "\u0031.4.9\u200b",  # zero-width space
    "../../../etc/passwd",
    "<script>alert(1)</script>",  # markup for the status page to show inert
    "1.4.9@sha256:" + "0" * 64,
    "-1.4.9",
    "",
    7,
    None,
    ["1.4.9"],
    {"tag": "1.4.9"},
]
MANY = 500_000
BOMB_BYTES = 512 * 1024 * 1024
AUTH_REALM = 'Basic realm="hostile"'


@cache
def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """A gzip stream of ``size`` spaces (about 1/1000 of that on the wire)."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    chunk = b" " * (1024 * 1024)
    parts = [out.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(out.flush())
    data = b"".join(parts)
    return data


def _many_tag(i: int) -> str:
    return f"0.{i // 1000}.{i % 1000}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up on a bomb are the point


class HostileRegistry:
    """See the module docstring. ``requests`` counts what was asked, by path."""

    def __init__(self, drip: float = 0.2, tls: TLSFiles | None = None) -> None:
        self.drip = drip
        self.other = Recorder()
        self.internal = CountingListener()
        self.requests: list[str] = []
        self._lock = threading.Lock()
        registry = self

        Handler = quiet_handler(registry._handle, "GET", "HEAD")

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.host}"
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(tls.cert, tls.key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.url = f"https://{self.host}"

    def __enter__(self) -> HostileRegistry:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.other.close()
        self.internal.close()

    def count(self, fragment: str) -> int:
        with self._lock:
            return sum(fragment in path for path in self.requests)

    # -- dispatch -------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(h.path)
        parts = urlsplit(h.path)
        query = parse_qs(parts.query)
        path = parts.path
        if path == "/v2/" or path == "/v2":
            return _send(h, 200, b"{}")
        repo, _, rest = path.removeprefix("/v2/").partition("/")
        kind = repo
        if rest.startswith("app/"):
            rest = rest.removeprefix("app/")
        if rest == "tags/list":
            return self._tags(h, kind, path, query)
        if rest.startswith("manifests/"):
            return self._manifest(h, kind, rest.removeprefix("manifests/"))
        return _send(h, 404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')

    def _tags(self, h: BaseHTTPRequestHandler, kind: str, path: str, query: dict[str, Any]) -> None:
        if kind == "evil":
            return _json(h, {"name": "evil/app", "tags": EVIL_TAGS + HONEST})
        if kind == "many":
            n = min(int(query.get("n", ["1000"])[0] or 1000), 1000)
            last = query.get("last", [""])[0]
            start = int(last) + 1 if last.isdigit() else 0
            tags = [_many_tag(i) for i in range(start, min(start + n, MANY))]
            headers = {}
            if start + n < MANY:
                headers["Link"] = f'<{path}?n={n}&last={start + n - 1}>; rel="next"'
            return _json(h, {"name": "many/app", "tags": tags}, headers)
        if kind == "loop":
            link = f'<{path}?n=1000&last=x>; rel="next"'
            return _json(h, {"name": "loop/app", "tags": HONEST}, {"Link": link})
        if kind == "foreign":
            link = f'<{self.other.url}{path}?n=1000>; rel="next"'
            return _json(h, {"name": "foreign/app", "tags": HONEST}, {"Link": link})
        if kind == "redirect":
            if not h.headers.get("Authorization"):
                return _send(h, 401, b"{}", {"WWW-Authenticate": AUTH_REALM})
            return _send(h, 307, b"", {"Location": f"{self.other.url}{h.path}"})
        if kind == "metadata":
            target = f"http://{self.internal.host}/latest/meta-data/iam/security-credentials/"
            return _send(h, 302, b"", {"Location": target})
        if kind == "downgrade":
            return _send(h, 302, b"", {"Location": f"http://{self.host}{h.path}"})
        if kind == "bomb":
            body = gzip_bomb()
            return _send(h, 200, body, {"Content-Encoding": "gzip"})
        if kind == "slowbody":
            return self._slow_body(h)
        if kind == "slowhead":
            return self._slow_head(h)
        return _json(h, {"name": kind, "tags": HONEST})

    def _manifest(self, h: BaseHTTPRequestHandler, kind: str, reference: str) -> None:
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": "sha256:" + "a" * 64,
                    "size": 2,
                },
                "layers": [],
            }
        ).encode()
        real = "sha256:" + hashlib.sha256(manifest).hexdigest()
        headers = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        if kind == "lying":
            wrong = "sha256:" + "b" * 64
            # a malformed header (a newline smuggled in) for HEAD, a wrong one for GET
            headers["Docker-Content-Digest"] = wrong if h.command == "GET" else "sha256:zz"
        else:
            headers["Docker-Content-Digest"] = real
        return _send(h, 200, manifest, headers)

    def _slow_body(self, h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "1000000")
        h.end_headers()
        _drip(h, b"{" + b" " * 999_999, self.drip)

    def _slow_head(self, h: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(
            b"X-Pad-%d: %s\r\n" % (i, b"y" * 60) for i in range(90)
        )
        _drip(h, head, self.drip)


def _drip(h: BaseHTTPRequestHandler, data: bytes, every: float) -> None:
    h.close_connection = True
    try:
        for i in range(len(data)):
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            time.sleep(every)
    except OSError:
        pass  # the client gave up: good


def _send(
    h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    h.send_response(status)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if h.command != "HEAD":
        try:
            h.wfile.write(body)
        except OSError:
            h.close_connection = True


def _json(h: BaseHTTPRequestHandler, doc: Any, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(doc).encode()
    _send(h, 200, body, {"Content-Type": "application/json", **(headers or {})})
