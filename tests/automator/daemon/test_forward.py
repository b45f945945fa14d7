"""Webhook forwarding between replicas: two real servers on 127.0.0.1 that forward to
each other, and the retries counted through injected post and sleep."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

import pytest
import requests

from automator.config import Webhooks
from automator.daemon.forward import ATTEMPTS, Forwarder, peer_urls
from automator.daemon.server import Server
from automator.daemon.shards import Shard
from automator.daemon.webhooks import sign
from tests.automator.daemon.test_server import SECRET, Recorder

HOOKS = Webhooks(secret_env="X", max_body_bytes=4096, requests_per_second=100, burst=100)
BODY = b'{"image": "registry.test/acme/api", "tag": "1.2.3"}'


def test_peer_urls_name_every_other_replica() -> None:
    template = "http://automator-{index}.automator-shards:8080/"
    assert peer_urls(template, Shard(1, 3)) == (
        "http://automator-0.automator-shards:8080",
        "http://automator-2.automator-shards:8080",
    )
    assert peer_urls(template, Shard()) == ()


class Pair:
    """Replica 0 and replica 1, each forwarding to the other."""

    def __init__(self) -> None:
        self.targets = [Recorder(), Recorder()]
        self.servers = [Server(("127.0.0.1", 0), target, HOOKS, SECRET) for target in self.targets]
        self.urls = [f"http://127.0.0.1:{s.server_address[1]}" for s in self.servers]
        self.sent: list[threading.Thread] = []
        for index, server in enumerate(self.servers):
            forwarder = Forwarder([self.urls[1 - index]], SECRET, Shard(index, 2))
            server.forwarder = _Recording(forwarder, self.sent)
            server.start()

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


class _Recording(Forwarder):
    """The real forwarder, keeping each sending thread so a test can join it."""

    def __init__(self, inner: Forwarder, sent: list[threading.Thread]) -> None:
        super().__init__(inner.peers, inner.secret, inner.shard)
        self.sent = sent

    def forward(self, kind: str, body: bytes, headers: Mapping[str, str]) -> threading.Thread:
        thread = super().forward(kind, body, headers)
        self.sent.append(thread)
        return thread


@pytest.fixture
def pair() -> Iterator[Pair]:
    pair = Pair()
    try:
        yield pair
    finally:
        pair.close()


def settle(pair: Pair) -> None:
    while pair.sent:
        pair.sent.pop().join(30)


def test_a_delivery_is_forwarded_once_to_the_other_replica_and_never_back(pair: Pair) -> None:
    answer = requests.post(
        pair.urls[0] + f"/webhook/generic?token={SECRET.reveal()}", data=BODY, timeout=10
    )
    assert answer.status_code == 202
    settle(pair)
    images = frozenset({"registry.test/acme/api"})
    assert pair.targets[0].triggered == [images]  # no copy came back: no loop
    assert pair.targets[1].triggered == [images]


def test_the_replay_guard_keeps_forwarded_copies_apart_from_direct_deliveries(
    pair: Pair,
) -> None:
    signed = {"X-Automator-Signature": sign(SECRET, BODY)}
    direct = requests.post(pair.urls[1] + "/webhook/generic", data=BODY, headers=signed, timeout=10)
    assert direct.status_code == 202
    settle(pair)  # replica 1 forwarded it to 0
    assert len(pair.targets[0].triggered) == 1
    # the same body reaches replica 0 from the registry too: not a replay of the copy
    again = requests.post(pair.urls[0] + "/webhook/generic", data=BODY, headers=signed, timeout=10)
    assert again.status_code == 202
    settle(pair)
    assert len(pair.targets[0].triggered) == 2
    # a forwarded copy sent twice is a replay
    copy = {**signed, "X-Automator-Forwarded": "1/2"}
    replay = requests.post(pair.urls[0] + "/webhook/generic", data=BODY, headers=copy, timeout=10)
    assert replay.status_code == 200 and "already taken" in replay.text


def test_a_forwarded_delivery_must_be_signed(pair: Pair) -> None:
    marked = {"X-Automator-Forwarded": "1/2", "X-Automator-Token": SECRET.reveal()}
    answer = requests.post(pair.urls[0] + "/webhook/generic", data=BODY, headers=marked, timeout=10)
    assert answer.status_code == 403
    assert pair.targets[0].triggered == []


class Peer:
    """Answers each post with the next status (an exception is raised instead)."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.posts: list[tuple[str, Mapping[str, str]]] = []
        self.sleeps: list[float] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.posts.append((url, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("answers", "delivered", "sleeps"),
    [
        ((503, requests.ConnectionError("refused"), 202), True, [0.5, 1.0]),
        ((403,), False, []),
        ((429, 200), True, [0.5]),
        ((requests.ConnectionError("refused"),) * ATTEMPTS, False, [0.5, 1.0, 2.0]),
    ],
)
def test_a_peer_is_tried_again_only_when_that_can_help(
    answers: tuple[int | Exception, ...], delivered: bool, sleeps: list[float]
) -> None:
    peer = Peer(*answers)
    forwarder = Forwarder(
        ["http://p"], SECRET, Shard(0, 2), post=peer.post, sleep=peer.sleeps.append
    )
    headers = {"X-Automator-Signature": sign(SECRET, BODY), "X-Automator-Forwarded": "0/2"}
    assert forwarder.send("http://p/webhook/generic", BODY, headers) is delivered
    assert peer.sleeps == sleeps
    assert len(peer.posts) == len(answers)


def test_the_forwarded_copy_is_signed_and_marked_and_carries_no_token() -> None:
    peer = Peer(202)
    forwarder = Forwarder(
        ["http://p"], SECRET, Shard(0, 2), post=peer.post, sleep=peer.sleeps.append
    )
    received = {"authorization": f"Bearer {SECRET.reveal()}", "x-github-event": "package"}
    forwarder.forward("github", BODY, received).join(30)
    [(url, headers)] = peer.posts
    assert url == "http://p/webhook/github"
    assert headers == {
        "x-github-event": "package",
        "X-Automator-Signature": sign(SECRET, BODY),
        "X-Automator-Forwarded": "0/2",
    }
