"""The HTTP endpoints on a real socket, with a recording stand-in for the daemon."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from automator.config import Webhooks
from automator.daemon.server import Server
from automator.daemon.webhooks import sign
from automator.secrets import Secret

SECRET = Secret("hook-secret-0123")


class Recorder:
    def __init__(self) -> None:
        self.triggered: list[frozenset[str]] = []
        self.problems = ["fleet: first reconcile not finished"]

    def trigger(self, images: frozenset[str], tags: object = frozenset()) -> list[str]:
        self.triggered.append(images)
        return ["fleet"]

    def ready_problems(self) -> list[str]:
        return self.problems


@pytest.fixture
def served() -> Iterator[tuple[str, Recorder]]:
    target = Recorder()
    hooks = Webhooks(secret_env="X", max_body_bytes=1024, requests_per_second=0.01, burst=5)
    server = Server(("127.0.0.1", 0), target, hooks, SECRET)
    server.start()
    host, port = server.server_address[:2]
    try:
        yield f"http://{host!s}:{port}", target
    finally:
        server.shutdown()
        server.server_close()


def test_probes(served: tuple[str, Recorder]) -> None:
    url, target = served
    assert requests.get(url + "/healthz", timeout=5).status_code == 200
    not_ready = requests.get(url + "/readyz", timeout=5)
    assert not_ready.status_code == 503
    assert "first reconcile" in not_ready.text
    target.problems = []
    assert requests.get(url + "/readyz", timeout=5).status_code == 200
    assert requests.get(url + "/nope", timeout=5).status_code == 404


def test_a_signed_webhook_triggers_only_the_named_image(served: tuple[str, Recorder]) -> None:
    url, target = served
    body = json.dumps({"image": "ghcr.io/acme/api", "tag": "1.2.3"}).encode()
    resp = requests.post(
        url + "/webhook/generic",
        data=body,
        headers={"X-Automator-Signature": sign(SECRET, body)},
        timeout=5,
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"images": ["ghcr.io/acme/api"], "sources": ["fleet"], "refused": []}
    assert target.triggered == [frozenset({"ghcr.io/acme/api"})]


def test_refusals(served: tuple[str, Recorder]) -> None:
    url, target = served
    body = b'{"image": "ghcr.io/acme/api"}'
    post = url + "/webhook/generic"
    assert requests.post(post, data=body, timeout=5).status_code == 401
    wrong = {"X-Automator-Signature": sign(Secret("other"), body)}
    assert requests.post(post, data=body, headers=wrong, timeout=5).status_code == 403
    assert requests.post(post + "?token=nope", data=body, timeout=5).status_code == 403
    bad = requests.post(post + "?token=hook-secret-0123", data=b"{}", timeout=5)
    assert bad.status_code == 400
    assert requests.post(url + "/webhook/gitlab", data=body, timeout=5).status_code == 404
    assert target.triggered == []
    # five tokens (404s take none), none refilled in this test: the sixth request is refused
    statuses = [requests.post(post, data=body, timeout=5).status_code for _ in range(2)]
    assert statuses == [401, 429]


def test_an_oversized_body_is_refused_before_it_is_read(served: tuple[str, Recorder]) -> None:
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.putrequest("POST", "/webhook/generic?token=hook-secret-0123")
    conn.putheader("Content-Length", str(10 * 1024 * 1024))
    conn.endheaders(b"{" * 100)
    assert conn.getresponse().status == 413
    conn.close()


def test_metrics_count_deliveries(served: tuple[str, Recorder]) -> None:
    url, _ = served
    requests.post(url + "/webhook/quay", data=b"{}", timeout=5)
    text = requests.get(url + "/metrics", timeout=5).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    key = ("automator_webhook_deliveries_total", (("kind", "quay"), ("result", "401")))
    assert samples[key] >= 1


@pytest.mark.parametrize("length", [64, 4096])  # under the limit (429 first), over it (413)
def test_a_body_we_answered_without_reading_is_drained_not_reset(
    served: tuple[str, Recorder], length: int
) -> None:
    """The sender sends its headers, reads our answer, and only then its body: we must
    still be draining (not closed), so the body meets no reset."""
    url, _ = served
    host, port = url.removeprefix("http://").split(":")
    for _ in range(6):  # spend the burst of 5, so the last attempts are rate limited
        requests.post(url + "/webhook/generic", data=b"{}", timeout=5)
    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(
            b"POST /webhook/generic HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := client.recv(65536):  # up to our FIN: we stopped writing
            answer += chunk
        assert answer.split(b"\r\n", 1)[0] in (
            b"HTTP/1.1 429 Too Many Requests",
            b"HTTP/1.1 413 Request Entity Too Large",
        )
        client.sendall(b"x" * length)  # after our answer: a closed socket would reset here
        client.shutdown(socket.SHUT_WR)
        assert client.recv(1) == b""  # an orderly close, not ConnectionResetError


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_json_nested_100000_deep_is_answered_400(opener: bytes) -> None:
    hooks = Webhooks(secret_env="X", max_body_bytes=1_048_576)
    server = Server(("127.0.0.1", 0), Recorder(), hooks, SECRET)
    server.start()
    host, port = server.server_address[:2]
    try:
        body = opener * 100_000
        resp = requests.post(
            f"http://{host!s}:{port}/webhook/generic?token=hook-secret-0123", data=body, timeout=30
        )
        assert resp.status_code == 400
        assert "nested deeper than 32" in resp.text
    finally:
        server.shutdown()
        server.server_close()
