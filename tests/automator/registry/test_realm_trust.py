"""Credentials go only to a token realm the registry's domain vouches for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.registry.auth import realm_trusted
from automator.secrets import Secret


class Recorder:
    """A registry that challenges with a realm on ``realm_host``, and that realm."""

    def __init__(self, realm_host: str) -> None:
        self.seen: list[str | None] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                port = self.server.server_address[1]
                if self.path.startswith("/token"):
                    recorder.seen.append(self.headers.get("Authorization"))
                    self._json({"token": "t0ken", "expires_in": 60})
                elif self.headers.get("Authorization") != "Bearer t0ken":
                    self.send_response(401)
                    self.send_header(
                        "WWW-Authenticate",
                        f'Bearer realm="http://{realm_host}:{port}/token",service="reg"',
                    )
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self._json({"name": "acme/app", "tags": ["1.0"]})

            def _json(self, obj: object) -> None:
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.port = self.httpd.server_address[1]


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    server = Recorder("localhost")  # same machine, another name: another domain
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def settings(port: int, **extra: object) -> RegistrySettings:
    return RegistrySettings(
        f"127.0.0.1:{port}", insecure=True, username="alice", password=Secret("s3cret"),
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_realm_on_another_domain_gets_no_credentials(elsewhere: Recorder) -> None:
    client = RegistryClient([settings(elsewhere.port, private_redirects=True)])  # it is loopback
    tags = client.list_tags(parse_reference(f"127.0.0.1:{elsewhere.port}/acme/app"))
    assert tags == ["1.0"]
    assert elsewhere.seen == [None]


def test_a_listed_realm_host_gets_them(elsewhere: Recorder) -> None:
    client = RegistryClient([settings(elsewhere.port, token_realm_hosts=("localhost",))])
    client.list_tags(parse_reference(f"127.0.0.1:{elsewhere.port}/acme/app"))
    assert [h and h.startswith("Basic ") for h in elsewhere.seen] == [True]


@pytest.mark.parametrize(
    ("host", "realm", "trusted"),
    [
        ("docker.io", "https://auth.docker.io/token", True),
        ("ghcr.io", "https://ghcr.io/token", True),
        ("registry.gitlab.com", "https://gitlab.com/jwt/auth", True),
        ("registry.example.co.uk", "https://auth.example.co.uk/t", True),
        ("registry.example.co.uk", "https://auth.evil.co.uk/t", False),
        ("quay.io", "https://quay.io.evil.test/token", False),
        ("ghcr.io", "https://evil.test/token", False),
        ("10.0.0.5:5000", "https://0.5:5000/token", False),
    ],
)
def test_realm_trust_rule(host: str, realm: str, trusted: bool) -> None:
    assert realm_trusted(realm, RegistrySettings(host)) is trusted
