"""Webhook payloads as their senders document them, signatures, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from automator.daemon.webhooks import (
    Auth,
    PayloadError,
    RateLimiter,
    authenticate,
    parse_delivery,
    sign,
)
from automator.secrets import Secret

DOCKERHUB = {
    "callback_url": "https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/",
    "push_data": {"pushed_at": 1417566161, "pusher": "trustedbuilder", "tag": "latest"},
    "repository": {
        "comment_count": 0,
        "date_created": 1417494799,
        "description": "",
        "is_official": False,
        "is_private": True,
        "is_trusted": True,
        "name": "testhook",
        "namespace": "svendowideit",
        "owner": "svendowideit",
        "repo_name": "svendowideit/testhook",
        "repo_url": "https://registry.hub.docker.com/u/svendowideit/testhook/",
        "star_count": 0,
        "status": "Active",
    },
}

DISTRIBUTION = {
    "events": [
        {
            "id": "320678d8-ca14-430f-8bb6-4ca139cd83f7",
            "timestamp": "2016-03-09T14:44:26.402973972-08:00",
            "action": "push",
            "target": {
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "size": 708,
                "digest": "sha256:fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf",
                "length": 708,
                "repository": "acme/api",
                "url": "http://registry.internal:5000/v2/acme/api/manifests/sha256:fea8895f",
                "tag": "1.4.4",
            },
            "request": {
                "id": "6df24a34-0959-4923-81ca-14f09767db19",
                "addr": "192.168.64.11:42961",
                "host": "registry.internal:5000",
                "method": "PUT",
                "useragent": "curl/7.38.0",
            },
            "actor": {},
            "source": {"addr": "xtal.local:5000", "instanceID": "a53db899-3b4b-4a62"},
        },
        {
            "action": "push",
            "target": {
                "mediaType": "application/octet-stream",
                "digest": "sha256:c3b3692957d439ac1928219a83fac91e7bf96c153725526874673ae1f2023f8b",
                "repository": "acme/worker",
            },
            "request": {"host": "registry.internal:5000", "method": "PUT"},
        },
        {
            "action": "pull",
            "target": {"repository": "acme/old", "tag": "1.0"},
            "request": {"host": "registry.internal:5000", "method": "GET"},
        },
    ]
}

HARBOR = {
    "type": "PUSH_ARTIFACT",
    "occur_at": 1680501893,
    "operator": "admin",
    "event_data": {
        "resources": [
            {
                "digest": "sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4",
                "tag": "v1.0",
                "resource_url": "harbor.example.com/library/busybox:v1.0",
            }
        ],
        "repository": {
            "date_created": 1680501893,
            "name": "busybox",
            "namespace": "library",
            "repo_full_name": "library/busybox",
            "repo_type": "private",
        },
    },
}

QUAY = {
    "repository": "mynamespace/repository",
    "namespace": "mynamespace",
    "name": "repository",
    "docker_url": "quay.io/mynamespace/repository",
    "homepage": "https://quay.io/repository/mynamespace/repository",
    "updated_tags": ["latest", "1.2.3"],
}

GITHUB = {
    "action": "published",
    "registry_package": {
        "id": 1234567,
        "name": "api",
        "namespace": "Acme",
        "ecosystem": "CONTAINER",
        "package_type": "CONTAINER",
        "html_url": "https://github.com/orgs/Acme/packages/container/package/api",
        "package_version": {
            "id": 7654321,
            "version": "sha256:1fd3f87cd2e6c0f0c54a6a4a5b8a7d0b4b5b0f3f33f8a7c2d0e5e4a9f5d1c2b3",
            "container_metadata": {
                "tag": {"name": "1.2.3", "digest": "sha256:1fd3f87cd2e6c0f0"},
                "labels": {},
                "manifest": {},
            },
            "package_url": "ghcr.io/acme/api:1.2.3",
        },
        "registry": {
            "about_url": "https://docs.github.com/packages/learn-github-packages/introduction-to-github-packages",
            "name": "GitHub CR",
            "type": "docker",
            "url": "https://ghcr.io/acme",
            "vendor": "GitHub Inc",
        },
    },
    "repository": {"full_name": "Acme/api"},
    "sender": {"login": "octocat"},
}


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("kind", "doc", "headers", "images"),
    [
        ("dockerhub", DOCKERHUB, {}, {"docker.io/svendowideit/testhook"}),
        (
            "dockerhub",
            {"repository": {"repo_name": "nginx"}, "push_data": {"tag": "1.27"}},
            {},
            {"docker.io/library/nginx"},
        ),
        ("distribution", DISTRIBUTION, {}, {"registry.internal:5000/acme/api"}),
        ("harbor", HARBOR, {}, {"harbor.example.com/library/busybox"}),
        ("harbor", {**HARBOR, "type": "PULL_ARTIFACT"}, {}, set()),
        ("quay", QUAY, {}, {"quay.io/mynamespace/repository"}),
        ("github", GITHUB, {"x-github-event": "registry_package"}, {"ghcr.io/acme/api"}),
        ("github", {"zen": "Keep it logically awesome."}, {"x-github-event": "ping"}, set()),
        ("github", {**GITHUB, "action": "updated"}, {}, set()),
        (
            "github",
            {"action": "published", "registry_package": {"name": "API", "namespace": "Acme"}},
            {},
            {"ghcr.io/acme/api"},
        ),
        ("generic", {"image": "ghcr.io/acme/api", "tag": "1.2.3"}, {}, {"ghcr.io/acme/api"}),
        ("generic", {"image": "nginx"}, {}, {"docker.io/library/nginx"}),
    ],
)
def test_each_kind_names_its_repositories(
    kind: str, doc: Any, headers: dict[str, str], images: set[str]
) -> None:
    delivery = parse_delivery(kind, body(doc), headers)
    assert delivery.images == images
    assert delivery.refused == ()


@pytest.mark.parametrize(
    "name",
    ["ghcr.io/acme/API; rm -rf /", "../../etc/passwd", "", "a" * 300, "ghcr.io/acme/api\nx: y"],
)
def test_names_that_fail_the_grammar_are_refused(name: str) -> None:
    delivery = parse_delivery("generic", body({"image": name}), {})
    assert delivery.images == frozenset()
    assert delivery.refused == (name[:200],)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("generic", b"not json"), ("generic", b'{"tag": "1"}'), ("generic", b"[]"), ("gitlab", b"{}")],
)
def test_bad_payloads_raise(kind: str, payload: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_delivery(kind, payload, {})


@pytest.mark.parametrize(
    "doc", [[], {"events": "x"}, {"events": [None, 1, {"target": []}]}, {"repository": 5}]
)
def test_odd_shapes_name_nothing(doc: Any) -> None:
    for kind in ("dockerhub", "distribution", "harbor", "quay", "github"):
        assert parse_delivery(kind, body(doc), {}).images == frozenset()


SECRET = Secret("s3cret-value")
PAYLOAD = body({"image": "ghcr.io/acme/api"})


def github_signature(key: bytes, data: bytes) -> str:
    return "sha256=" + hmac.new(key, data, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"x-hub-signature-256": github_signature(b"s3cret-value", PAYLOAD)}, {}, Auth.OK),
        ({"x-hub-signature-256": github_signature(b"wrong", PAYLOAD)}, {}, Auth.BAD),
        ({"x-hub-signature-256": "sha1=" + "0" * 40}, {}, Auth.BAD),
        ({"x-automator-signature": sign(SECRET, PAYLOAD)}, {}, Auth.OK),
        ({"x-automator-signature": sign(SECRET, PAYLOAD + b" ")}, {}, Auth.BAD),
        # a valid token does not excuse a bad signature
        ({"x-automator-signature": "sha256=00"}, {"token": "s3cret-value"}, Auth.BAD),
        ({}, {"token": "s3cret-value"}, Auth.OK),
        ({}, {"token": "s3cret"}, Auth.BAD),
        ({"x-automator-token": "s3cret-value"}, {}, Auth.OK),
        ({"authorization": "Bearer s3cret-value"}, {}, Auth.OK),
        ({"authorization": "Bearer nope"}, {}, Auth.BAD),
        ({"authorization": "s3cret-value"}, {}, Auth.OK),  # Harbor sends the header as set
        ({}, {}, Auth.MISSING),
    ],
)
def test_authenticate(headers: dict[str, str], query: dict[str, str], expected: Auth) -> None:
    assert authenticate(SECRET, PAYLOAD, headers, query) is expected


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2")  # senders have their own buckets
    clock.now += 0.5  # one token back at 2/s
    assert limiter.allow("10.0.0.1")
    assert not limiter.allow("10.0.0.1")
    clock.now += 100
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]


def test_rate_limiter_forgets_the_oldest_senders() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=0.001, burst=1, clock=clock, max_senders=2)
    assert limiter.allow("a") and limiter.allow("b") and limiter.allow("c")
    assert limiter.allow("a")  # evicted, so it starts with a full bucket again
    assert not limiter.allow("c")
