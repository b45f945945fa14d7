"""A webhook that names repo:tag evicts that tag's cached digest: ``digest:`` policies
follow a re-pushed tag within one webhook round trip, with no wait for the cache TTL."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from automator.daemon.webhooks import parse_delivery
from automator.registry import RegistryCache
from testing.daemon import write_config
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.automator.daemon.test_run_daemon import notifying, start, stop, wait_for
from tests.automator.daemon.test_webhooks import DOCKERHUB
from tests.e2e.test_skeleton import commits

__all__ = ["notifying"]  # the fixture, used below

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy.api: "digest:stable"
spec:
  template:
    spec:
      containers:
        - name: api
          image: {image}:stable@{digest}
"""


def test_a_named_tag_is_in_the_delivery() -> None:
    hub = parse_delivery("dockerhub", json.dumps(DOCKERHUB).encode(), {})
    assert hub.tags == {("docker.io/svendowideit/testhook", "latest")}
    generic = parse_delivery("generic", b'{"image": "ghcr.io/acme/api", "tag": "1.2"}', {})
    assert generic.tags == {("ghcr.io/acme/api", "1.2")}
    inline = parse_delivery("generic", b'{"image": "ghcr.io/acme/api:edge"}', {})
    assert inline.tags == {("ghcr.io/acme/api", "edge")}
    bad = parse_delivery("generic", b'{"image": "ghcr.io/acme/api", "tag": "a b"}', {})
    assert bad.images == {"ghcr.io/acme/api"} and bad.tags == frozenset()


def test_an_eviction_drops_the_digest_and_refuses_an_answer_that_raced_it(
    tmp_path: Path,
) -> None:
    cache = RegistryCache(tmp_path / "cache.sqlite")
    old, new = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    cache.put_digest("reg.test/acme/api", "stable", old)
    asked = cache.clock()  # a lookup starts, then a webhook arrives before it answers
    cache.forget_digest("reg.test/acme/api", "stable")
    assert cache.get_digest("reg.test/acme/api", "stable", max_age=300) is None
    cache.put_digest("reg.test/acme/api", "stable", old, asked=asked)
    assert cache.get_digest("reg.test/acme/api", "stable", max_age=300) is None
    cache.put_digest("reg.test/acme/api", "stable", new, asked=cache.clock())
    assert cache.get_digest("reg.test/acme/api", "stable", max_age=300) == new


def test_a_re_pushed_tag_is_followed_within_one_webhook(
    tmp_path: Path, notifying: tuple[Registry, int], git_daemon: GitDaemon
) -> None:
    registry, port = notifying
    pusher = Pusher(registry.url)
    first = pusher.tag("acme/api", ["stable"], content=b"one")
    image = f"{registry.host}/acme/api"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(image=image, digest=first)},
    )
    config = write_config(
        tmp_path / "automator.yaml", [("fleet", git_daemon.url("fleet.git"), registry.host)], port
    )
    url = f"http://127.0.0.1:{port}"
    proc = start(config, tmp_path)
    try:
        wait_for(lambda: requests.get(url + "/readyz", timeout=1).ok, "ready after the first scan")
        assert len(commits(remote)) == 1  # stable is where the manifest says: cached now

        second = pusher.tag("acme/api", ["stable"], content=b"two")  # the registry notifies
        assert second != first
        wait_for(lambda: len(commits(remote)) == 2, "the commit for the re-pushed tag")
        text = git("show", "main:apps/api.yaml", cwd=remote)
        assert f"image: {image}:stable@{second}" in text
    finally:
        code = stop(proc)
    assert code == 0, (tmp_path / "daemon.log").read_text()
