"""Local stand-ins for the clouds' identity services, on 127.0.0.1.

- ``MotoServer``: the ``moto`` server (``python3 -m moto.server``), AWS's API
  emulator; ECR's ``GetAuthorizationToken`` answers a fixed ``AWS:<password>``.
- ``MetadataServer``: the documented GCE metadata endpoints google-auth reads (the
  ping at ``/``, the service account, its token, the project id), each requiring
  ``Metadata-Flavor: Google``.
- ``AzureAuthority``: an Azure AD authority over TLS (the SDK refuses plain HTTP)
  that gives an access token for workload identity's client assertion.
- ``AcrFront``: ACR's ``POST /oauth2/exchange`` in front of a real registry; every
  other request is passed through to it.

Each records what it answered, so tests count token requests instead of timing them.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from testing import MissingServer, free_port, quiet_handler
from testing.process import spawn, stop_group, wait_listening
from testing.registry import TLSFiles

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    content_type: str = "application/json",
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def _form(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    length = int(handler.headers.get("Content-Length", "0"))
    return {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}


class _Served:
    """A ThreadingHTTPServer on 127.0.0.1 in a thread; a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.host = f"127.0.0.1:{self.port}"

    def __enter__(self) -> Any:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MotoServer:
    """``python3 -m moto.server`` on a free port; ``url`` is for ``AWS_ENDPOINT_URL``."""

    def __init__(self, workdir: Path) -> None:
        try:
            import moto.server  # noqa: F401  (only to say how to install it)
        except ImportError as exc:
            raise MissingServer("moto is not installed: pip install 'moto[server,ecr]'") from exc
        self.workdir, self.port = workdir, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "moto.log"

    def __enter__(self) -> MotoServer:
        args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = spawn(args, self.log)
        wait_listening(self.port, [self.proc], self.log)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_group(self.proc)


class MetadataServer(_Served):
    """The GCE metadata server: ``GCE_METADATA_HOST`` and ``GCE_METADATA_IP`` = ``host``."""

    def __init__(
        self,
        token: str,
        *,
        email: str = "automator@test-project.iam.gserviceaccount.com",
        project: str = "test-project",
        expires_in: int = 3599,
    ) -> None:
        self.token, self.email, self.project, self.expires_in = token, email, project, expires_in
        self.token_requests = 0
        server = self

        def answer(request: BaseHTTPRequestHandler) -> None:
            server._answer(request)

        super().__init__(quiet_handler(answer, "GET"))

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        flavor = {"Metadata-Flavor": "Google"}
        if request.headers.get("Metadata-Flavor") != "Google":
            return _send(request, 403, b"Missing Metadata-Flavor:Google header.", flavor)
        path = urlsplit(request.path).path
        account = "/computeMetadata/v1/instance/service-accounts/default/"
        if path == "/":
            return _send(request, 200, b"computeMetadata/\n", flavor, content_type="text/plain")
        if path == account:
            info = {"email": self.email, "aliases": ["default"], "scopes": ["cloud-platform"]}
            return _send(request, 200, json.dumps(info).encode(), flavor)
        if path == account + "token":
            self.token_requests += 1
            body = {
                "access_token": self.token,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            }
            return _send(request, 200, json.dumps(body).encode(), flavor)
        text = {
            "/computeMetadata/v1/project/project-id": self.project,
            "/computeMetadata/v1/universe/universe-domain": "googleapis.com",
        }.get(path)
        if text is None:
            return _send(request, 404, b"not found", flavor, content_type="text/plain")
        return _send(request, 200, text.encode(), flavor, content_type="application/text")


class AzureAuthority(_Served):
    """An AAD authority (``AZURE_AUTHORITY_HOST`` = ``url``): client credentials with a
    federated client assertion, for ``scope``, answer ``access_token``."""

    def __init__(
        self,
        tls: TLSFiles,
        *,
        assertion: str,
        client_id: str,
        access_token: str,
        scope: str = "https://management.azure.com/.default",
    ) -> None:
        self.assertion, self.client_id, self.scope = assertion, client_id, scope
        self.access_token = access_token
        self.token_requests = 0
        server = self

        def answer(request: BaseHTTPRequestHandler) -> None:
            server._answer(request)

        super().__init__(quiet_handler(answer, "POST"))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://{self.host}"

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        form = _form(request)
        self.token_requests += 1
        ok = (
            request.path.endswith("/oauth2/v2.0/token")
            and form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.client_id
            and form.get("client_assertion") == self.assertion
            and form.get("scope") == self.scope
        )
        if not ok:
            refused = {"error": "invalid_client", "error_description": "AADSTS700016: refused"}
            return _send(request, 401, json.dumps(refused).encode())
        body = {"token_type": "Bearer", "expires_in": 3599, "access_token": self.access_token}
        _send(request, 200, json.dumps(body).encode())


class AcrFront(_Served):
    """``POST /oauth2/exchange`` (AAD token -> ``refresh_token``) before ``upstream``."""

    def __init__(self, upstream: str, *, access_token: str, refresh_token: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.access_token, self.refresh_token = access_token, refresh_token
        self.exchanges: list[dict[str, str]] = []
        self._session = requests.Session()
        server = self

        def answer(request: BaseHTTPRequestHandler) -> None:
            server._answer(request)

        super().__init__(quiet_handler(answer, "GET", "HEAD", "POST"))

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        if request.command == "POST" and request.path == "/oauth2/exchange":
            form = _form(request)
            self.exchanges.append({k: v for k, v in form.items() if k != "access_token"})
            if (
                form.get("grant_type") != "access_token"
                or form.get("access_token") != self.access_token
            ):
                return _send(request, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
            answer = json.dumps({"refresh_token": self.refresh_token}).encode()
            return _send(request, 200, answer)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        reply = self._session.request(
            request.command, self.upstream + request.path, headers=headers, timeout=10
        )
        skip = HOP | {"content-encoding"}  # requests has decoded the body already
        passed = {k: v for k, v in reply.headers.items() if k.lower() not in skip}
        head = request.command == "HEAD"
        body = b"" if head else reply.content
        length = reply.headers.get("Content-Length", "0") if head else str(len(body))
        request.send_response(reply.status_code)
        for name, value in passed.items():
            request.send_header(name, value)
        request.send_header("Content-Length", length)
        request.end_headers()
        request.wfile.write(body)
