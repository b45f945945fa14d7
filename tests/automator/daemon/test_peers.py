"""Webhooks go only to the replicas whose sources use the named images (or may).

Four real servers on 127.0.0.1 (shards 0-3), each forwarding to the others and asking
them over signed ``GET /peer/images``; deliveries are counted at each replica.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator, Mapping

import pytest
import requests

from automator.config import Webhooks
from automator.daemon import peers
from automator.daemon.forward import Forwarder
from automator.daemon.peers import FRESH, PeerImages
from automator.daemon.schedule import Schedule
from automator.daemon.server import Server
from automator.daemon.shards import Shard
from automator.daemon.webhooks import sign
from automator.secrets import Secret
from tests.automator.daemon.test_server import SECRET, Recorder

HOOKS = Webhooks(secret_env="X", max_body_bytes=4096, requests_per_second=100, burst=100)
ONE, TWO, THREE = "registry.test/acme/one", "registry.test/acme/two", "registry.test/acme/three"


def body(image: str, tag: str = "1.2.3") -> bytes:
    return json.dumps({"image": image, "tag": tag}).encode()


class Replica(Recorder):
    """A replica's daemon as the server sees it: triggers counted, images it uses given."""

    def __init__(self, images: frozenset[str] | None) -> None:
        super().__init__()
        self.uses = images

    def images(self) -> frozenset[str] | None:
        return self.uses


class Fleet:
    """Shard 0 uses nothing, shard 1 ONE, shard 2 TWO, shard 3 has not scanned yet."""

    def __init__(self) -> None:
        uses = [frozenset(), frozenset({ONE}), frozenset({TWO}), None]
        self.replicas = [Replica(u) for u in uses]
        self.servers = [
            Server(("127.0.0.1", 0), r, HOOKS, SECRET, images=r.images, shard=Shard(i, 4))
            for i, r in enumerate(self.replicas)
        ]
        self.urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in self.servers]
        self.sent: list[threading.Thread] = []
        self.posts: list[str] = []
        self.forwarders = []
        for index, server in enumerate(self.servers):
            others = [u for i, u in enumerate(self.urls) if i != index]
            forwarder = Forwarder(others, SECRET, Shard(index, 4), post=self.post)
            self.forwarders.append(forwarder)
            server.forwarder = forwarder
            server.start()

    def post(self, url: str, data: bytes, headers: Mapping[str, str]) -> int:
        self.posts.append(url)
        return requests.post(url, data=data, headers=dict(headers), timeout=10).status_code

    def deliver(self, to: int, data: bytes) -> None:
        signed = {"X-Automator-Signature": sign(SECRET, data)}
        answer = requests.post(
            self.urls[to] + "/webhook/generic", data=data, headers=signed, timeout=10
        )
        assert answer.status_code == 202
        for thread in threading.enumerate():
            if thread.name == "forward":
                thread.join(30)

    def delivered(self) -> list[int]:
        return [len(r.triggered) for r in self.replicas]

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    fleet = Fleet()
    try:
        yield fleet
    finally:
        fleet.close()


def test_a_webhook_reaches_only_the_owners_of_its_image_and_the_unknown(fleet: Fleet) -> None:
    fleet.deliver(0, body(TWO))
    # the receiver rescans its own; shard 2 uses TWO; shard 3's images are unknown
    assert fleet.delivered() == [1, 0, 1, 1]
    assert fleet.forwarders[0].passed_over == 1  # shard 1
    assert sorted(fleet.posts) == sorted([fleet.urls[2] + "/webhook/generic",
                                          fleet.urls[3] + "/webhook/generic"])  # fmt: skip

    fleet.replicas[3].uses = frozenset({THREE})  # shard 3 has scanned: asked again, not kept
    fleet.deliver(0, body(TWO, "1.2.4"))
    assert fleet.delivered() == [2, 0, 2, 1]  # a webhook for an image only shard 2 uses

    fleet.deliver(1, body(ONE))  # to the owner itself: nobody else needs it
    assert fleet.delivered() == [2, 1, 2, 1]
    fleet.deliver(2, body("registry.test/acme/none"))  # used by nobody
    assert fleet.delivered() == [2, 1, 3, 1]


def test_a_peer_that_does_not_answer_gets_the_webhook(fleet: Fleet) -> None:
    fleet.servers[2].shutdown()
    fleet.servers[2].server_close()
    sleeps: list[float] = []
    forwarder = Forwarder(fleet.urls[1:], SECRET, Shard(0, 4), post=fleet.post, sleep=sleeps.append)
    fleet.servers[0].forwarder = forwarder
    fleet.deliver(0, body(ONE))
    assert fleet.delivered() == [1, 1, 0, 1]
    assert fleet.posts.count(fleet.urls[2] + "/webhook/generic") == len(sleeps) + 1 == 4


def test_the_endpoint_answers_only_a_signed_fresh_question(fleet: Fleet) -> None:
    url = fleet.urls[2] + peers.PATH
    assert requests.get(url, timeout=10).status_code == 403
    old = peers.request_headers(SECRET, 1_000_000)
    assert requests.get(url, headers=old, timeout=10).status_code == 403
    wrong = peers.request_headers(Secret("another-secret"), time.time())
    assert requests.get(url, headers=wrong, timeout=10).status_code == 403
    good = requests.get(url, headers=peers.request_headers(SECRET, time.time()), timeout=10)
    assert good.status_code == 200
    assert good.headers["X-Automator-Signature"] == sign(SECRET, good.content)
    assert json.loads(good.content) == {"shard": "2/4", "images": [TWO]}


class Asked:
    """A peer's answers through the ``get`` seam, counted."""

    def __init__(self, images: list[str] | None, secret: Secret = SECRET) -> None:
        self.images, self.secret, self.asked = images, secret, 0

    def get(self, url: str, headers: Mapping[str, str]) -> tuple[int, bytes, Mapping[str, str]]:
        self.asked += 1
        data = json.dumps({"shard": "1/2", "images": self.images}).encode()
        return 200, data, {"X-Automator-Signature": sign(self.secret, data)}


def test_answers_are_kept_briefly_and_unknown_ones_not_at_all() -> None:
    now = [100.0]
    peer = Asked([ONE])
    directory = PeerImages(SECRET, get=peer.get, clock=lambda: now[0])
    assert directory.images("http://p") == {ONE}
    now[0] += FRESH - 1
    assert directory.images("http://p") == {ONE} and peer.asked == 1
    now[0] += 1
    assert directory.images("http://p") == {ONE} and peer.asked == 2
    peer.images = None  # a source not scanned yet: unknown, asked again next time
    now[0] += FRESH
    assert directory.images("http://p") is None
    assert directory.images("http://p") is None and peer.asked == 4


def test_a_forged_answer_is_unknown() -> None:
    forged = Asked([ONE], secret=Secret("not-ours"))
    assert PeerImages(SECRET, get=forged.get).images("http://p") is None


def test_the_schedule_knows_its_images_once_every_source_was_scanned() -> None:
    schedule = Schedule(
        [("a", "r1"), ("b", "r2")], interval=60, jitter=0, now=0, random=random.Random(1)
    )
    assert schedule.images() is None
    schedule.take_due(0)
    schedule.finish("a", 1, images=frozenset({ONE}))
    assert schedule.images() is None
    schedule.finish("b", 1, images=frozenset({TWO}))
    assert schedule.images() == {ONE, TWO}
