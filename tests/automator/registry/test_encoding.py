"""Compressed answers are decoded by the transport itself, inside the body cap."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from automator.errors import RegistryError
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings

TAGS = json.dumps({"name": "acme/app", "tags": ["1.0", "1.1"]}).encode()
ANSWERS = {
    "gzip": ("gzip", gzip.compress(TAGS)),
    "corrupt": ("gzip", gzip.compress(TAGS)[:12] + b"\x00garbage\xff" * 8),
    "brotli": ("br", b"\x0b\x02\x80"),
    "plain": ("", TAGS),
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            kind = self.path.split("/")[2] if self.path.count("/") > 2 else ""
            encoding, body = ANSWERS.get(kind, ("", b"{}"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def client(host: str) -> RegistryClient:
    return RegistryClient([RegistrySettings(host, insecure=True, deadline=10, max_attempts=2)])


@pytest.mark.parametrize("kind", ["gzip", "plain"])
def test_encoded_and_plain_answers_read_the_same(server: str, kind: str) -> None:
    assert client(server).list_tags(parse_reference(f"{server}/{kind}/app")) == ["1.0", "1.1"]


def test_a_corrupt_gzip_body_is_a_transient_error(server: str) -> None:
    with pytest.raises(RegistryError, match="compressed body is corrupt") as info:
        client(server).list_tags(parse_reference(f"{server}/corrupt/app"))
    assert info.value.transient


def test_an_encoding_we_did_not_ask_for_is_refused(server: str) -> None:
    with pytest.raises(RegistryError, match="unsupported Content-Encoding 'br'"):
        client(server).list_tags(parse_reference(f"{server}/brotli/app"))
