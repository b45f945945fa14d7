"""The HTTP edge against a real server on 127.0.0.1: answers, retries, deadlines, caps,
decoding and the request count. Bounds are proven by counting: requests the server
saw, bytes it wrote before the client left, waits asked of an injected clock."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from automator import metrics
from automator.http import (
    Again,
    BadEncoding,
    CorruptBody,
    Deadline,
    DeadlinePassed,
    HttpClient,
    MiB,
    Reply,
    Request,
    Retry,
    TooLarge,
    count_as,
    count_registry,
    retry_after,
)
from testing import free_port
from tests.automator.http.server import DRIP_BYTES, TEXT, EdgeServer
from tests.faketime import FakeTime

GONE = 30.0  # how long the server may take to notice a client that hung up


@pytest.fixture
def server() -> Iterator[EdgeServer]:
    with EdgeServer() as running:
        yield running


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def counted(time: FakeTime) -> tuple[HttpClient, list[tuple[str, int]]]:
    answers: list[tuple[str, int]] = []
    return time.http(count=lambda host, status: answers.append((host, status))), answers


def deadline(time: FakeTime, seconds: float = 30.0) -> Deadline:
    return Deadline(seconds, "acme: testing", time.clock)


def test_an_answer_comes_back_read_and_counted_once(server: EdgeServer, time: FakeTime) -> None:
    http, answers = counted(time)
    reply = http.send(Request("GET", f"{server.url}/ok"), deadline(time))
    assert (reply.status, reply.body, reply.reason) == (200, TEXT, "OK")
    assert reply.headers["x-thing"] == "1"  # case-insensitive
    assert reply.links["next"]["url"] == "/ok?page=2"
    head = http.send(Request("HEAD", f"{server.url}/ok"), deadline(time))
    assert head.status == 200 and head.body == b""
    assert answers == [(server.host, 200), (server.host, 200)]


def test_the_count_feeds_the_metrics(server: EdgeServer, time: FakeTime) -> None:
    def sample(name: str, **labels: str) -> float:
        return metrics.REGISTRY.get_sample_value(name, labels) or 0.0

    registry = ("automator_registry_requests_total", {"host": server.host, "status": "503"})
    forge = (
        "automator_http_requests_total",
        {"client": "forge", "host": server.host, "status": "503"},
    )
    before = sample(registry[0], **registry[1]), sample(forge[0], **forge[1])
    for count in (count_registry, count_as("forge")):
        http = time.http(count=count)
        http.send(Request("GET", f"{server.url}/status/503"), deadline(time))
    after = sample(registry[0], **registry[1]), sample(forge[0], **forge[1])
    assert (after[0] - before[0], after[1] - before[1]) == (1.0, 1.0)  # each in its own metric


def retry_on_503(http: HttpClient, url: str, call: Deadline, attempts: int) -> Reply:
    """``url`` until it stops answering 503, within ``call``; each exchange may take 30 s
    (the watchdog keeps real time, and this is about the loop, not one exchange)."""
    request = Request("GET", url)

    def attempt() -> Reply:
        reply = http.send(request, Deadline(30.0, call.what, http.now))
        if reply.status == 503:
            raise Again("HTTP 503", retry_after(reply.headers.get("Retry-After")))
        return reply

    return http.retry(attempt, deadline=call, policy=Retry(attempts=attempts))


def test_retries_honour_retry_after_and_count_every_answer(
    server: EdgeServer, time: FakeTime
) -> None:
    http, answers = counted(time)
    reply = retry_on_503(http, f"{server.url}/flaky/a/2", deadline(time), attempts=4)
    assert (reply.status, reply.body) == (200, b"done")
    assert server.hits["/flaky/a/2"] == 3
    assert time.sleeps == [0.5, 0.5]
    assert [status for _, status in answers] == [503, 503, 200]


def test_retries_stop_after_the_attempts(server: EdgeServer, time: FakeTime) -> None:
    http, _ = counted(time)
    with pytest.raises(Again, match="HTTP 503") as info:
        retry_on_503(http, f"{server.url}/flaky/b/100", deadline(time), attempts=3)
    assert info.value.attempts == 3 and server.hits["/flaky/b/100"] == 3
    assert time.sleeps == [0.5, 0.5]


def test_retries_stop_at_the_deadline(server: EdgeServer, time: FakeTime) -> None:
    http, _ = counted(time)
    with pytest.raises(Again) as info:
        retry_on_503(http, f"{server.url}/flaky/c/100", deadline(time, 0.8), attempts=10)
    assert time.sleeps == pytest.approx([0.5, 0.25])  # the second wait ends at the margin
    assert info.value.attempts == 3 and server.hits["/flaky/c/100"] == 3


def test_a_spent_deadline_sends_nothing(server: EdgeServer, time: FakeTime) -> None:
    http, answers = counted(time)
    spent = deadline(time, 1.0)
    time.sleep(1.0)
    with pytest.raises(DeadlinePassed, match="acme: testing: gave up at the deadline") as info:
        http.send(Request("GET", f"{server.url}/ok"), spent)
    assert info.value.seconds == 1.0 and not info.value.cut
    assert server.hits["/ok"] == 0 and answers == []


def test_the_watchdog_cuts_a_dripping_answer_at_the_deadline(server: EdgeServer) -> None:
    # real time: a byte every 20 ms never trips the 30 s read timeout; only the deadline can
    http = HttpClient()
    with pytest.raises(DeadlinePassed) as info:
        http.send(Request("GET", f"{server.url}/drip"), Deadline(0.5, "acme: dripping"))
    assert info.value.cut  # the watchdog hung up on the request in flight
    assert server.gone["/drip"].wait(GONE), "the server never saw the client leave"
    assert server.written["/drip"] < DRIP_BYTES // 5  # a fraction of the drip was sent


def test_a_declared_size_over_the_limit_is_refused_unread(
    server: EdgeServer, time: FakeTime
) -> None:
    http, answers = counted(time)
    with pytest.raises(TooLarge) as info:
        http.send(Request("GET", f"{server.url}/declared", limit=MiB), deadline(time))
    assert (info.value.size, info.value.cap) == (10 * MiB, MiB)
    assert answers == [(server.host, 200)]  # counted once, as an answer


def test_an_endless_answer_stops_at_the_limit(server: EdgeServer, time: FakeTime) -> None:
    http, _ = counted(time)
    with pytest.raises(TooLarge, match="over the 1048576-byte limit"):
        http.send(Request("GET", f"{server.url}/endless", limit=MiB), deadline(time))
    assert server.gone["/endless"].wait(GONE), "the server never saw the client leave"
    assert server.written["/endless"] < 64 * MiB  # the limit and the socket buffers, no more


@pytest.mark.parametrize("kind", ["gzip", "deflate"])
def test_compressed_answers_are_decoded(server: EdgeServer, time: FakeTime, kind: str) -> None:
    http, _ = counted(time)
    reply = http.send(Request("GET", f"{server.url}/encoded/{kind}"), deadline(time))
    assert json.loads(reply.body) == json.loads(TEXT)


def test_a_gzip_bomb_stops_at_the_limit(server: EdgeServer, time: FakeTime) -> None:
    http, _ = counted(time)
    with pytest.raises(TooLarge) as info:
        http.send(Request("GET", f"{server.url}/encoded/bomb", limit=MiB), deadline(time))
    assert info.value.size is None  # found while decoding, not declared


def test_corrupt_and_unknown_encodings_are_errors(server: EdgeServer, time: FakeTime) -> None:
    http, _ = counted(time)
    with pytest.raises(CorruptBody) as corrupt:
        http.send(Request("GET", f"{server.url}/encoded/corrupt"), deadline(time))
    assert corrupt.value.transient
    with pytest.raises(BadEncoding, match="unsupported Content-Encoding 'br'") as unknown:
        http.send(Request("GET", f"{server.url}/encoded/br"), deadline(time))
    assert not unknown.value.transient


def test_transport_failures_ask_for_another_attempt(server: EdgeServer, time: FakeTime) -> None:
    http, answers = counted(time)
    port = free_port()
    with pytest.raises(Again, match=f"cannot reach 127.0.0.1:{port} \\(no connection\\)") as info:
        http.send(Request("GET", f"http://127.0.0.1:{port}/x"), deadline(time))
    assert info.value.kind == "ConnectionError"
    with pytest.raises(Again):
        http.send(Request("GET", f"{server.url}/reset"), deadline(time))
    assert answers == [] and server.hits["/reset"] == 1


def test_requests_and_replies_keep_secrets_out_of_their_repr() -> None:
    secret = "hooks.example/T000/XyZsecret"
    request = Request("POST", f"https://u:pw@{secret}", headers={"Authorization": "tok"})
    reply = Reply(200, f"https://{secret}", {"Set-Cookie": "tok"}, b"tok")
    for text in (repr(request), repr(reply)):
        assert "XyZsecret" not in text and "tok" not in text and "pw" not in text
