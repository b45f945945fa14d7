"""A Docker token server for tests: issues ES256 JWTs that distribution 2.8 accepts.

What 2.8 checks (registry/auth/token/token.go at v2.8.2): ``iss`` and ``aud`` (a
string, not a list) match the config, ``exp``/``nbf`` with 60 s leeway, ``access``
lists the granted actions, and the signing key is found through an ``x5c`` chain that
verifies against ``rootcertbundle``. Anonymous callers get ``pull``; users get what
they ask for; ``POST`` with ``grant_type=refresh_token`` serves identity tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = "test-token-issuer"
SERVICE = "test-registry"


def signing_cert() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 key and a self-signed CA certificate for it (the whole trust bundle)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


class TokenServer:
    """``GET|POST /token`` on 127.0.0.1; records every request it answers."""

    def __init__(
        self,
        bundle: Path,
        *,
        users: dict[str, str] | None = None,
        refresh_tokens: dict[str, str] | None = None,
        expires_in: int = 300,
    ) -> None:
        self.users = users or {}
        self.refresh_tokens = refresh_tokens or {}  # identity token -> user
        self.expires_in = expires_in
        self.fail_next: list[int] = []  # statuses to answer before issuing again
        self.seen: list[tuple[str, str, str]] = []  # (method, path, Authorization)
        self._key, self._cert = signing_cert()
        bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self.bundle = bundle
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._answer(self, parse_qs(urlsplit(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                server._answer(self, parse_qs(self.rfile.read(length).decode()))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"

    def auth_config(self) -> str:
        """The registry's ``auth:`` block for this server."""
        return (
            "auth:\n  token:\n"
            f"    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {self.bundle}\n"
        )

    def _user(self, handler: BaseHTTPRequestHandler, form: dict[str, list[str]]) -> str | None:
        """The caller's user name, "" for anonymous, None for bad credentials."""
        if form.get("grant_type") == ["refresh_token"]:
            return self.refresh_tokens.get(form.get("refresh_token", [""])[0])
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return ""
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == password else None

    def _answer(self, handler: BaseHTTPRequestHandler, form: dict[str, list[str]]) -> None:
        with self._lock:
            self.seen.append(
                (handler.command, handler.path, handler.headers.get("Authorization", ""))
            )
            status = self.fail_next.pop(0) if self.fail_next else 200
        if status != 200:
            return _reply(handler, status, {"errors": [{"code": "FAILED"}]}, {"Retry-After": "1"})
        user = self._user(handler, form)
        if user is None:
            return _reply(handler, 401, {"details": "bad credentials"})
        access = []
        for scope in " ".join(form.get("scope", [])).split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = [a for a in actions.split(",") if a]
            granted = wanted if user else [a for a in wanted if a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": SERVICE,  # 2.8 wants a string
            "sub": user,
            "exp": now + self.expires_in,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        der = self._cert.public_bytes(serialization.Encoding.DER)
        token = jwt.encode(
            claims, self._key, algorithm="ES256", headers={"x5c": [base64.b64encode(der).decode()]}
        )
        _reply(handler, 200, {"token": token, "access_token": token, "expires_in": self.expires_in})

    def __enter__(self) -> TokenServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


class PushAuth:
    """A requests auth for seeding a token-auth registry: a push token per repository."""

    def __init__(self, realm: str, user: str, password: str) -> None:
        self.realm, self.user, self.password = realm, user, password
        self._tokens: dict[str, str] = {}

    def __call__(self, request: Any) -> Any:
        path = urlsplit(request.url).path
        repo = path[len("/v2/") :].rsplit("/", 2)[0] if path.count("/") > 3 else ""
        if repo.endswith("/blobs"):
            repo = repo[: -len("/blobs")]
        if repo not in self._tokens:
            import requests

            scope = f"repository:{repo}:pull,push"
            answer = requests.get(
                self.realm,
                params={"service": SERVICE, "scope": scope},
                auth=(self.user, self.password),
                timeout=10,
            )
            self._tokens[repo] = answer.json()["token"]
        request.headers["Authorization"] = f"Bearer {self._tokens[repo]}"
        return request
