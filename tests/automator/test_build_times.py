"""Build-time reads are spent after the policy's filter, the current tag first, then the
tags most likely newest; a current tag of unknown build time never moves backwards."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import policies
from automator.catalog import RegistryCatalog, read_order
from automator.errors import AutomatorError
from automator.model import Change, Part, Site, Skip
from automator.plan import build_plan
from automator.reference import ImageRef, parse_reference
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from testing.registry import Pusher, Registry


def site(image: str, policy: str) -> Site:
    text = f"image: {image}"
    return Site("apps/api.yaml", 1, 7, len(text), Part.REFERENCE, image,
                parse_reference(image), policy, "annotation")  # fmt: skip


class Times:
    """A Catalog whose tags have the build times of a table (None: unreadable)."""

    def __init__(self, times: dict[str, datetime | None]) -> None:
        self.times = times

    def candidates(
        self,
        image: ImageRef,
        *,
        created: bool,
        platform: str | None,
        wanted: Callable[[str], bool] | None = None,
        current: str | None = None,
    ) -> Sequence[policies.Candidate] | AutomatorError:
        return [policies.Candidate(t, when) for t, when in self.times.items()]

    def digest(self, image: ImageRef, tag: str) -> str:
        raise AssertionError("no digest is asked")


def day(n: int) -> datetime:
    return datetime(2026, 1, n, tzinfo=UTC)


def test_read_order_is_filtered_current_first_then_newest_first() -> None:
    tags = ["build-9", "build-10", "build-100", "zz-1", "build-2", "v1.9", "v1.10"]
    assert read_order(tags, lambda t: t.startswith("build-"), "build-2") == [
        "build-2",
        "build-100",
        "build-10",
        "build-9",
    ]
    assert read_order(tags, None, None)[:3] == ["zz-1", "v1.10", "v1.9"]
    assert read_order(tags, lambda t: t.startswith("v"), "zz-1") == ["v1.10", "v1.9"]
    stamps = ["main-20240102-ab12", "main-20231231-ff00", "main-20240101-0000"]
    assert read_order(stamps, None, None)[0] == "main-20240102-ab12"


def test_a_current_tag_of_unknown_build_time_is_left_alone() -> None:
    catalog = Times({"b1": None, "b2": day(2), "b3": day(1)})
    plan = build_plan([site("reg.test/acme/api:b1", "newest-build")], catalog)
    assert plan.changes == ()
    (skip,) = plan.skipped
    assert isinstance(skip, Skip) and not skip.error
    assert "build time of the current tag b1 could not be read" in skip.reason
    assert "left alone" in skip.reason


def test_a_current_tag_missing_from_the_registry_is_left_alone_too() -> None:
    plan = build_plan([site("reg.test/acme/api:gone", "newest-build")], Times({"b2": day(2)}))
    assert plan.changes == () and "current tag gone" in plan.skipped[0].reason


def test_known_or_unordered_current_tags_still_move() -> None:
    catalog = Times({"b1": day(1), "b2": day(2), "latest": None})
    moved = build_plan([site("reg.test/acme/api:b1", "newest-build")], catalog)
    assert [c.new for c in moved.changes] == ["reg.test/acme/api:b2"]
    # outside the filter the current tag takes no part in the ordering: nothing to undercut
    filtered = build_plan([site("reg.test/acme/api:latest", "newest-build;filter=^b")], catalog)
    assert [c.new for c in filtered.changes] == ["reg.test/acme/api:b2"]
    # allow-downgrade asks for the newest whatever runs now
    unknown = Times({"b1": None, "b2": day(2)})
    forced = build_plan([site("reg.test/acme/api:b1", "newest-build;allow-downgrade")], unknown)
    assert [c.new for c in forced.changes] == ["reg.test/acme/api:b2"]


def test_3000_tags_whose_newest_sort_last_get_the_newest_build(
    registry: Registry, pusher: Pusher, tmp_path: Path
) -> None:
    started = time.monotonic()
    repo = "budget/app"
    old = pusher.push_image(repo, "build-0001", created="2024-01-01T00:00:00Z")
    body = pusher.session.get(
        f"{registry.url}/v2/{repo}/manifests/build-0001",
        headers={"Accept": old["mediaType"]},
        timeout=10,
    ).content
    # cheap tags: the one old manifest PUT again under 2,389 build tags and 600 others
    # that the policy's filter refuses (and that sort after every build tag)
    cheap = [f"build-{n:04d}" for n in range(2, 2391)] + [f"zz-cache-{n:04d}" for n in range(600)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: pusher.push_manifest(repo, t, body, old["mediaType"]), cheap))
    for n in range(2391, 2401):  # the ten newest: distinct configs, later build times
        pusher.push_image(repo, f"build-{n:04d}", created=f"2025-06-{n - 2380:02d}T00:00:00Z")

    seeded = time.monotonic()
    cache = RegistryCache(tmp_path / "cache.sqlite")  # as the daemon has: configs by digest
    settings = RegistrySettings(registry.host, insecure=True, requests_per_second=0)  # no pacing
    client = RegistryClient([settings], cache=cache)
    catalog = RegistryCatalog(client)
    image = f"{registry.host}/{repo}:build-0001"
    plan = build_plan([site(image, "newest-build;filter=^build-")], catalog)

    assert len(catalog.tags(parse_reference(image))) == 3000  # type: ignore[arg-type]
    (change,) = plan.changes
    assert isinstance(change, Change)
    assert change.new == f"{registry.host}/{repo}:build-2400"
    # within the budget: the listing, 500 digests, a manifest and a config per distinct image
    assert client.requests_sent <= 2 + 500 + 2 * 11
    print(f"seeded in {seeded - started:.1f}s, planned in {time.monotonic() - seeded:.1f}s")
