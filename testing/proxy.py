"""A loopback proxy in front of a registry: spec pagination and injected faults.

Distribution 2.8 ignores ``n`` on tags/list; with ``page_size`` set the proxy sorts
the real tag list and serves it in pages linked by ``Link: <...>; rel="next"``. Faults
are queued per path fragment (``proxy.inject("demo/app/tags", "429")``) and each is
served once, or ``times`` times. Every request is recorded with its Authorization.

With ``pull_limit`` the proxy bills pulls as Docker Hub does: each manifest GET
answered 200 is one (``proxy.pulls``), every manifest answer (HEAD included) carries
``ratelimit-limit: N;w=21600`` and ``ratelimit-remaining``, and once none are left a
manifest GET is answered 429 ``TOOMANYREQUESTS``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import requests

from testing import quiet_handler

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
EVIL_TAGS = ["1.0\nkind: Secret", "x: {a: b}", "../../etc", "a" * 300, "ok-1", 7, None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and hang-ups are what this server is for


class Recorder:
    """A server on another host name that records what reaches it (and answers 200)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (path, Authorization)
        recorder = self

        def answer(request: BaseHTTPRequestHandler) -> None:
            recorder.seen.append((request.path, request.headers.get("Authorization", "")))
            _send(request, 200, json.dumps({"tags": ["stolen"]}).encode())

        Handler = quiet_handler(answer, "GET")
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.httpd.server_address[1]}"  # another host name
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FaultProxy:
    """Forwards to ``upstream``; paginates tags/list; serves queued faults first."""

    def __init__(
        self,
        upstream: str,
        *,
        page_size: int | None = None,
        link: bool = True,
        pull_limit: int | None = None,
        pull_window: int = 21600,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.pull_limit = pull_limit
        self.pull_window = pull_window
        self.pulls = 0  # manifest GETs answered 200, while pull_limit is set
        self.page_size = page_size
        self.link = link  # False: pages without Link, like registries that only honour last=
        self.seen: list[tuple[str, str, str]] = []  # (method, path, Authorization)
        self._faults: list[list[Any]] = []  # [fragment, kind, times left]
        self._lock = threading.Lock()
        self._session = requests.Session()
        self.other = Recorder()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_HEAD(self) -> None:
                proxy._handle(self)

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"http://{self.host}"

    def inject(self, fragment: str, kind: str, times: int = 1) -> None:
        """Serve fault ``kind`` to the next ``times`` requests whose path has ``fragment``."""
        with self._lock:
            self._faults.append([fragment, kind, times])

    def _fault_for(self, path: str) -> str | None:
        with self._lock:
            for fault in self._faults:
                if fault[0] in path and fault[2] != 0:
                    fault[2] -= 1
                    return str(fault[1])
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.seen.append((h.command, h.path, h.headers.get("Authorization", "")))
        kind = self._fault_for(h.path)
        if kind is not None:
            FAULTS[kind](self, h)
            return
        billed = self.pull_limit is not None and "/manifests/" in h.path
        if billed and h.command == "GET" and self._pulls_left() == 0:
            doc = {"errors": [{"code": "TOOMANYREQUESTS", "message": "pull rate limit"}]}
            _send(h, 429, json.dumps(doc).encode(), self._pull_headers())
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP}
        parts = urlsplit(h.path)
        answer = (
            self._session.request(
                h.command, self.upstream + parts.path, headers=headers, timeout=30, params=None
            )
            if parts.path.endswith("/tags/list")
            else self._session.request(
                h.command,
                self.upstream + h.path,
                headers=headers,
                timeout=30,
                allow_redirects=False,
            )
        )
        body = answer.content
        extra: dict[str, str] = {}
        if parts.path.endswith("/tags/list") and answer.status_code == 200 and self.page_size:
            body, link = self._page(parts.path, parse_qs(parts.query), answer.json())
            if link:
                extra["Link"] = link
        out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP} | extra
        if billed:
            if h.command == "GET" and answer.status_code == 200:
                with self._lock:
                    self.pulls += 1
            out |= self._pull_headers()
        _send(h, answer.status_code, body, out, length=answer.headers.get("Content-Length"))

    def _pulls_left(self) -> int:
        with self._lock:
            return max(0, (self.pull_limit or 0) - self.pulls)

    def _pull_headers(self) -> dict[str, str]:
        window = f";w={self.pull_window}"
        return {
            "ratelimit-limit": f"{self.pull_limit}{window}",
            "ratelimit-remaining": f"{self._pulls_left()}{window}",
            "docker-ratelimit-source": "127.0.0.1",
        }

    def _page(
        self, path: str, query: dict[str, list[str]], doc: dict[str, Any]
    ) -> tuple[bytes, str]:
        tags = sorted(doc.get("tags") or [])
        last = query.get("last", [""])[0]
        tags = [t for t in tags if t > last]
        asked = int(query["n"][0]) if "n" in query else self.page_size or 1000
        size = min(asked, self.page_size or 1000)
        link = ""
        if len(tags) > size and self.link:
            link = f'<{path}?last={quote(tags[size - 1])}&n={size}>; rel="next"'
        body = json.dumps({"name": doc.get("name"), "tags": tags[:size]}).encode()
        return body, link

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.other.close()


def _send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    length: str | None = None,
) -> None:
    h.send_response(status)
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.send_header("Content-Length", length if h.command == "HEAD" and length else str(len(body)))
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


def _json_reply(status: int, doc: Any, **headers: str) -> Callable[[FaultProxy, Any], None]:
    return lambda proxy, h: _send(h, status, json.dumps(doc).encode(), headers)


def _reset(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    h.connection.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
    )
    h.connection.close()
    h.close_connection = True


def _slow(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        for _ in range(600):  # one byte every 0.1 s: a minute, unless the client leaves
            h.wfile.write(b" ")
            h.wfile.flush()
            time.sleep(0.1)
    except OSError:
        pass
    h.close_connection = True


def _truncated(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    _send(h, 200, b'{"name": "x", "tags": ["1.0", "1.')


def _short_body(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.wfile.write(b'{"tags": ["1.0"')  # then hang up: fewer bytes than promised
    h.close_connection = True


def _foreign_link(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    link = f'<{proxy.other.url}/v2/evil/tags/list?n=1>; rel="next"'
    _send(h, 200, json.dumps({"tags": ["1.0"]}).encode(), {"Link": link})


def _scheme_link(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    link = f'<https://{proxy.host}/v2/evil/tags/list?n=1>; rel="next"'
    _send(h, 200, json.dumps({"tags": ["1.0"]}).encode(), {"Link": link})


def _oversized(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    tags = [f"v{i:07d}" for i in range(700_000)]  # about 7 MiB
    _send(h, 200, json.dumps({"tags": tags}).encode())


def _redirect_away(proxy: FaultProxy, h: BaseHTTPRequestHandler) -> None:
    _send(h, 307, b"", {"Location": f"{proxy.other.url}{h.path}"})


FAULTS: dict[str, Callable[[FaultProxy, Any], None]] = {
    "429": _json_reply(429, {"errors": [{"code": "TOOMANYREQUESTS"}]}, **{"Retry-After": "1"}),
    "429-date": lambda p, h: _json_reply(
        429, {"errors": []}, **{"Retry-After": formatdate(time.time() + 1, usegmt=True)}
    )(p, h),
    "429-long": _json_reply(429, {"errors": []}, **{"Retry-After": "3600"}),
    "503": _json_reply(503, {"errors": []}),
    "500": _json_reply(500, {"errors": [{"code": "UNKNOWN"}]}),
    "401": _json_reply(401, {"errors": [{"code": "UNAUTHORIZED"}]}),
    "401-basic": _json_reply(401, {"errors": []}, **{"WWW-Authenticate": 'Basic realm="r"'}),
    "redirect-away": _redirect_away,
    "reset": _reset,
    "slow": _slow,
    "truncated": _truncated,
    "short-body": _short_body,
    "foreign-link": _foreign_link,
    "scheme-link": _scheme_link,
    "oversized": _oversized,
    "evil-tags": _json_reply(200, {"name": "x", "tags": EVIL_TAGS}),
    "null-tags": _json_reply(200, {"name": "x", "tags": None}),
}
