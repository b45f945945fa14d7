"""``HttpClient.stream``: a body handed over as it arrives, capped and checked while it is
read. Bounds are counted: the bytes the reader held at once, the size of each read."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from automator.http import Again, BodyReader, CorruptBody, Deadline, MiB, Reply, Request, TooLarge
from automator.http.body import CHUNK
from tests.automator.http.server import SHORT, TEXT, EdgeServer
from tests.faketime import FakeTime

GONE = 30.0


@pytest.fixture
def server() -> Iterator[EdgeServer]:
    with EdgeServer() as running:
        yield running


class Drain:
    """A consumer that reads the body 16 KiB at a time (as the YAML parser does) and counts."""

    def __init__(self) -> None:
        self.status = 0
        self.reads = 0
        self.largest = 0
        self.total = 0
        self.held = 0
        self.data = bytearray()

    def __call__(self, head: Reply, body: BodyReader) -> int:
        self.status = head.status
        assert head.body == b"", "the head comes without its body"
        try:
            while chunk := body.read(16 * 1024):
                self.reads += 1
                self.largest = max(self.largest, len(chunk))
                self.total += len(chunk)
                if len(self.data) < 1024 * 1024:
                    self.data += chunk
        finally:
            self.held = body.held
        return self.total


def stream(time: FakeTime, url: str, drain: Drain, limit: int = 4 * MiB) -> int:
    http = time.http()
    return http.stream(Request("GET", url, limit=limit), Deadline(30, "acme: stream"), drain)


def test_the_body_is_read_as_it_arrives_within_its_cap(server: EdgeServer) -> None:
    drain = Drain()
    with pytest.raises(TooLarge, match="over the 2097152-byte limit") as info:
        stream(FakeTime(), f"{server.url}/endless", drain, limit=2 * MiB)
    assert info.value.size is None, "found while reading, not declared"
    assert drain.status == 200 and 2 * MiB - CHUNK <= drain.total <= 2 * MiB
    assert drain.largest == 16 * 1024 and drain.reads >= 2 * MiB // (16 * 1024) - 4
    assert drain.held <= CHUNK, "one raw chunk at a time, whatever the size"
    assert server.gone["/endless"].wait(GONE), "the server never saw the client leave"


def test_a_gzip_bomb_is_decoded_a_chunk_at_a_time(server: EdgeServer) -> None:
    drain = Drain()
    with pytest.raises(TooLarge):
        stream(FakeTime(), f"{server.url}/encoded/bomb", drain, limit=8 * MiB)
    assert drain.total >= 8 * MiB - CHUNK
    assert drain.held <= 2 * CHUNK, "a decoded chunk and the raw bytes left, no more"


@pytest.mark.parametrize("kind", ["gzip", "deflate"])
def test_compressed_bodies_stream_decoded(server: EdgeServer, kind: str) -> None:
    drain = Drain()
    assert stream(FakeTime(), f"{server.url}/encoded/{kind}", drain) == len(TEXT)
    assert bytes(drain.data) == TEXT


def test_a_compressed_body_that_stops_early_is_corrupt(server: EdgeServer) -> None:
    with pytest.raises(CorruptBody, match="acme: stream: answer's compressed body is corrupt"):
        stream(FakeTime(), f"{server.url}/encoded/truncated", Drain())


def test_a_body_cut_short_asks_for_another_attempt(server: EdgeServer) -> None:
    drain = Drain()
    declared, sent = SHORT
    with pytest.raises(Again, match=re.escape(f"the answer was cut off after {sent} bytes")):
        stream(FakeTime(), f"{server.url}/short", drain)
    assert drain.total == sent < declared


def test_the_consumer_sees_every_status_and_its_result_comes_back(server: EdgeServer) -> None:
    drain = Drain()
    assert stream(FakeTime(), f"{server.url}/status/404", drain) == 2
    assert drain.status == 404
