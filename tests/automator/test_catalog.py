"""RegistryCatalog: each repository listed once, build times bounded, listings that age.

The registry is a fake passed through the catalog's ``Registry`` protocol, and time
is a fake clock, so every bound here is a count.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from automator.catalog import ERROR_TTL, RegistryCatalog
from automator.errors import RegistryError
from automator.reference import ImageRef, parse_reference
from automator.registry import ImageInfo

API = parse_reference("reg.test/acme/api:1.0")
WEB = parse_reference("reg.test/acme/web:1.0")
DIGEST = "sha256:" + "cd" * 32


class FakeRegistry:
    """Tags from a table; records every call."""

    def __init__(self, table: dict[str, list[str] | RegistryError]) -> None:
        self.table = table
        self.listed: list[str] = []
        self.infos: list[str] = []
        self.during_listing: threading.Event | None = None

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        names = sorted({i.canonical_name for i in images})
        self.listed += names
        answer = {name: self.table[name] for name in names}
        if self.during_listing is not None:
            self.during_listing.set()
        return answer

    def digest(self, image: ImageRef, tag: str | None = None) -> str:
        return DIGEST

    def image_info(
        self, image: ImageRef, tag: str | None = None, platform: str | None = None
    ) -> ImageInfo:
        self.infos.append(f"{image.canonical_name}:{tag}")
        if tag == "broken":
            raise RegistryError(f"{image.canonical_name}:{tag}: config unreadable")
        created = datetime(2026, 1, int(tag.split(".")[-1]) + 1, tzinfo=UTC) if tag else None
        return ImageInfo(DIGEST, created, {"org.opencontainers.image.source": "https://x.test"})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_repository_is_listed_once_however_many_sites_use_it() -> None:
    registry = FakeRegistry({API.canonical_name: ["1.0", "1.1"], WEB.canonical_name: ["2.0"]})
    catalog = RegistryCatalog(registry)

    catalog.prefetch([API, WEB, API])
    for _ in range(3):
        assert catalog.tags(API) == ["1.0", "1.1"]
        assert catalog.tags(WEB) == ["2.0"]

    assert registry.listed == [API.canonical_name, WEB.canonical_name]


def test_with_max_age_listings_are_listed_again_and_errors_sooner() -> None:
    error = RegistryError("reg.test/acme/web: 503", transient=True)
    registry = FakeRegistry({API.canonical_name: ["1.0"], WEB.canonical_name: error})
    clock = Clock()
    catalog = RegistryCatalog(registry, max_age=60.0, clock=clock)
    catalog.prefetch([API, WEB])

    clock.now += ERROR_TTL + 1  # the failed listing is stale, the good one is not
    catalog.prefetch([API, WEB])
    assert registry.listed == [API.canonical_name, WEB.canonical_name, WEB.canonical_name]

    clock.now += 60.0
    catalog.prefetch([API, WEB])
    assert registry.listed.count(API.canonical_name) == 2


def test_forget_drops_a_listing_even_one_still_in_flight() -> None:
    registry = FakeRegistry({API.canonical_name: ["1.0"]})
    clock = Clock()
    catalog = RegistryCatalog(registry, max_age=60.0, clock=clock)
    catalog.prefetch([API])
    catalog.forget({API.canonical_name})
    catalog.prefetch([API])
    assert registry.listed == [API.canonical_name] * 2

    # a webhook arrives while the listing runs: the answer is used once, never kept
    registry.during_listing = threading.Event()
    catalog.forget({API.canonical_name})
    original = registry.list_tags_many

    def listing_then_webhook(images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        answer = original(images)
        clock.now += 0.5
        catalog.forget({API.canonical_name})
        return answer

    registry.list_tags_many = listing_then_webhook  # type: ignore[method-assign]
    assert catalog.tags(API) == ["1.0"]
    catalog.prefetch([API])
    assert registry.listed == [API.canonical_name] * 4


def test_build_times_are_read_only_when_asked_and_at_most_the_limit() -> None:
    tags = [f"1.{n}" for n in range(10)]
    registry = FakeRegistry({API.canonical_name: tags})
    catalog = RegistryCatalog(registry, max_build_times=4)

    plain = catalog.candidates(API, created=False, platform=None)
    assert not isinstance(plain, RegistryError)
    assert [c.tag for c in plain] == tags and registry.infos == []

    timed = catalog.candidates(API, created=True, platform=None)
    assert not isinstance(timed, RegistryError)
    assert len(registry.infos) == 4
    # the budget goes to the tags most likely newest, not to the first in tag order
    assert [c.created is not None for c in timed] == [False] * 6 + [True] * 4


def test_a_failed_listing_is_returned_not_raised() -> None:
    error = RegistryError("reg.test/acme/api: 401 listing tags", transient=False)
    catalog = RegistryCatalog(FakeRegistry({API.canonical_name: error}))
    assert catalog.candidates(API, created=False, platform=None) is error


@pytest.mark.parametrize("tags", [["1.0", "broken"], ["broken"]])
def test_labels_are_best_effort_and_read_once_per_image(tags: list[str]) -> None:
    registry = FakeRegistry({})
    catalog = RegistryCatalog(registry)
    images = [API.with_tag(t) for t in tags] + [API.with_tag(tags[0])]

    found = catalog.labels(images)

    assert registry.infos == [f"{API.canonical_name}:{t}" for t in tags]
    ok = [str(API.with_tag(t)) for t in tags if t != "broken"]
    assert sorted(found) == ok


class SlowRegistry(FakeRegistry):
    """Holds each listing until ``release`` is set, so two workers overlap."""

    def __init__(self, table: dict[str, list[str] | RegistryError]) -> None:
        super().__init__(table)
        self.entered = threading.Event()
        self.release = threading.Event()

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        answer = super().list_tags_many(images)
        self.entered.set()
        assert self.release.wait(30)
        return answer


def test_a_repository_two_workers_need_at_once_is_listed_once() -> None:
    registry = SlowRegistry({API.canonical_name: ["1.0", "1.1"], WEB.canonical_name: ["2.0"]})
    catalog = RegistryCatalog(registry, max_age=60.0)
    first = threading.Thread(target=catalog.prefetch, args=([API],))
    first.start()
    assert registry.entered.wait(30)
    got: list[list[str] | RegistryError] = []
    second = threading.Thread(target=lambda: got.append(catalog.tags(API)))
    second.start()
    registry.release.set()
    first.join(30)
    second.join(30)
    assert got == [["1.0", "1.1"]]
    assert registry.listed == [API.canonical_name]
    catalog.prefetch([API, WEB])  # one fresh, one new
    assert registry.listed == [API.canonical_name, WEB.canonical_name]
