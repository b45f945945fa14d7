"""The Docker Hub preset: manifest GETs are billed pulls, HEADs are free, and the last
``pull_reserve`` pulls of the window are never spent, against a proxy that sends
Docker Hub's rate-limit headers in front of the real registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from automator import metrics
from automator.catalog import RegistryCatalog
from automator.reference import ImageRef, parse_reference
from automator.registry import PullsDeferred, RegistryClient, RegistrySettings
from automator.registry.pulls import PullBudget, Window, read_window
from testing.proxy import FaultProxy
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator
from tests.faketime import FakeTime

LIMIT, RESERVE, IMAGES = 15, 5, 20


def test_the_headers_docker_hub_sends_are_read() -> None:
    headers = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "76;w=21600"}
    assert read_window(headers) == Window(100, 76, 21600)
    assert read_window({"ratelimit-limit": "100", "ratelimit-remaining": "3"}) == Window(100, 3, 0)
    for bad in ({}, {"ratelimit-limit": "100;w=21600"}, {**headers, "ratelimit-remaining": "x"}):
        assert read_window(bad) is None


@pytest.mark.parametrize(
    ("host", "preset", "counts"),
    [
        ("docker.io", None, True),
        ("registry-1.docker.io", None, True),
        ("index.docker.io", None, True),
        ("docker.io", "none", False),
        ("ghcr.io", None, False),
        ("127.0.0.1:5000", "dockerhub", True),
    ],
)
def test_the_preset_is_on_for_docker_hub(host: str, preset: str | None, counts: bool) -> None:
    assert RegistrySettings(host, preset=preset).counts_pulls is counts


def test_the_reserve_is_kept_and_a_stale_count_expires() -> None:
    time = FakeTime()
    budget = PullBudget("hub.test", 2, time.clock)
    budget.take("first")  # nothing said yet: the pull goes and its answer will say
    budget.observe({"ratelimit-limit": "10;w=60", "ratelimit-remaining": "4;w=60"})
    budget.take("a")
    budget.take("b")
    assert budget.remaining == 2
    with pytest.raises(PullsDeferred, match=r"2 of 10 pulls left in the 60s window") as info:
        budget.take("hub.test/acme/app@sha256:ab: reading config")
    assert info.value.transient and "pull_reserve" in str(info.value)
    time.sleep(61)  # the window has moved on: the next pull goes, and its answer says again
    assert budget.remaining is None
    budget.take("c")


@pytest.fixture
def hub(registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(registry.url, pull_limit=LIMIT) as server:
        yield server


def seed(registry: Registry) -> str:
    """A repository of IMAGES distinct images, tags newest last."""
    repo = f"hub/app-{uuid.uuid4().hex[:8]}"
    pusher = Pusher(registry.url)
    for n in range(1, IMAGES + 1):
        pusher.push_image(repo, f"b-{n:02d}", created=f"2025-01-{n:02d}T00:00:00Z")
    return repo


def remaining(host: str) -> float | None:
    return metrics.REGISTRY.get_sample_value("automator_registry_pulls_remaining", {"host": host})


def test_no_cycle_spends_the_reserved_pulls(registry: Registry, hub: FaultProxy) -> None:
    image: ImageRef = parse_reference(f"{hub.host}/{seed(registry)}:b-01")
    settings = RegistrySettings(
        hub.host, insecure=True, preset="dockerhub", pull_reserve=RESERVE, requests_per_second=0
    )
    client = RegistryClient([settings])
    for cycle in range(3):
        catalog = RegistryCatalog(client)
        found = catalog.candidates(image, created=True, platform=None, current="b-01")
        assert not isinstance(found, Exception)
        assert hub.pulls == LIMIT - RESERVE, f"cycle {cycle}"
        unread, why = catalog.unread(image)
        assert unread > 0 and "deferred" in why and "pull_reserve" in why
    assert client.pulls_remaining(hub.host) == RESERVE
    assert remaining(hub.host) == RESERVE
    # HEADs are free: a digest still resolves with only the reserve left
    heads = sum(1 for method, path, _ in hub.seen if method == "HEAD")
    assert client.digest(image, "b-20").startswith("sha256:")
    assert sum(1 for method, path, _ in hub.seen if method == "HEAD") == heads + 1
    assert hub.pulls == LIMIT - RESERVE

    # a new process knows nothing; its first answer (a HEAD) says, and it spends none
    fresh = RegistryClient([settings])
    RegistryCatalog(fresh).candidates(image, created=True, platform=None)
    assert hub.pulls == LIMIT - RESERVE


def test_explain_says_why_a_lookup_was_deferred(
    tmp_path: Path, registry: Registry, hub: FaultProxy
) -> None:
    repo = seed(registry)
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"""\
sources:
  - name: explain
    url: .
registries:
  - host: {hub.host}
    insecure: true
    preset: dockerhub
    pull_reserve: {RESERVE}
"""
    )
    image = f"{hub.host}/{repo}:b-01"
    result = automator(
        "explain", image, "--policy", "newest-build", "--config", str(config), cwd=tmp_path
    )
    assert hub.pulls == LIMIT - RESERVE
    assert f"build times not read for {IMAGES - (LIMIT - RESERVE)} tags" in result.stdout
    assert "deferred" in result.stdout and f"the last {RESERVE} are kept" in result.stdout
    assert "pull_reserve" in result.stdout
