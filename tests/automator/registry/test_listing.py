"""Incomplete tag listings against the real registry: never used as whole, a prefix can
still decide, and a prefix is listed from where it starts (``last=``).

Debian's registry (distribution 2.8) answers every tag in one page and ignores ``n``
and ``last``; the paging tests put ``FaultProxy`` in front of it, which pages by
``n``/``last`` with ``Link`` as newer registries do.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from automator.catalog import RegistryCatalog
from automator.errors import IncompleteListing
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.registry.listing import before
from testing.proxy import FaultProxy
from testing.registry import Pusher, Registry

SHAS = [f"sha-{i:04x}" for i in range(120)]
EARLY = ["1.0.0", "1.0.1"]  # sort before "sha-"
LATE = ["v1.4.2", "v1.4.3", "v1.5.0"]  # sort after every "sha-" tag: past any cap


@pytest.fixture(scope="module")
def many(registry: Registry, pusher: Pusher) -> str:
    pusher.tag("trunc/api", EARLY + SHAS + LATE)  # one manifest, a PUT per tag
    return f"{registry.host}/trunc/api"


@pytest.fixture
def paged(registry: Registry, many: str) -> Iterator[FaultProxy]:
    with FaultProxy(registry.url, page_size=10) as proxy:
        yield proxy


def client(server: Registry | FaultProxy, **settings: object) -> RegistryClient:
    base: dict[str, object] = {"insecure": True, "page_size": 10, "max_tags": 40}
    return RegistryClient([RegistrySettings(server.host, **(base | settings))])  # type: ignore[arg-type]


def test_a_listing_past_max_tags_is_an_error_with_a_hint(registry: Registry, many: str) -> None:
    with pytest.raises(IncompleteListing) as info:
        client(registry).list_tags(parse_reference(many))
    assert str(info.value) == (
        f"{registry.host}/trunc/api: the tag listing is incomplete (stopped at 40 tags"
        " (max_tags)), so the policy was not applied; raise max_tags for"
        f" {registry.host} under registries: in automator.yaml, or anchor the policy on a"
        " prefix (filter=^v1\\.) so that only its tags are listed"
    )
    # the registry lists in lexical order: every tag up to the cut was read
    assert info.value.tags == tuple(sorted(EARLY + SHAS)[:40])
    assert info.value.through == sorted(EARLY + SHAS)[39]
    assert info.value.covers("1.0.") and not info.value.covers("v1.") and not info.value.covers("")


def test_a_prefix_is_listed_from_where_it_starts(paged: FaultProxy) -> None:
    image = parse_reference(f"{paged.host}/trunc/api")
    whole = client(paged, max_tags=1000).tag_listing(image)
    assert whole.complete and whole.pages == 13  # 125 tags, ten a page
    with pytest.raises(IncompleteListing, match="stopped at 40 tags"):
        client(paged).list_tags(image)
    prefixed = client(paged).tag_listing(image, "v1.")
    assert prefixed.complete and prefixed.tags == tuple(LATE)
    assert prefixed.pages == 1  # last= skipped the 122 tags before "v1."
    started = client(paged).tag_listing(image, "sha-000")
    assert started.complete and started.tags == tuple(SHAS[:16])
    assert started.pages == 2  # from "sha-000", and stopped once the tags went past it


def test_a_prefix_is_listed_whole_where_last_is_ignored(registry: Registry, many: str) -> None:
    prefixed = client(registry).tag_listing(parse_reference(many), "v1.")
    assert prefixed.complete and prefixed.tags == tuple(LATE)


def test_the_catalog_lists_a_prefix_only_when_the_cut_hides_it(paged: FaultProxy) -> None:
    registry_client = client(paged)
    catalog = RegistryCatalog(registry_client)
    image = parse_reference(f"{paged.host}/trunc/api")
    assert isinstance(catalog.tags(image), IncompleteListing)
    sent = registry_client.requests_sent
    assert catalog.prefixed(image, "1.0.") == EARLY  # before the cut: from what was read
    assert registry_client.requests_sent == sent
    assert catalog.prefixed(image, "v1.") == LATE  # past the cut: listed on its own, once
    assert catalog.prefixed(image, "v1.") == LATE
    assert registry_client.requests_sent == sent + 1


@pytest.mark.parametrize("prefix", ["v", "v1.", "1", "a", "A", "_", "sha-", "x-", "9"])
def test_before_is_the_last_tag_below_a_prefix(prefix: str) -> None:
    low = before(prefix)
    assert low < prefix and len(low) <= 128
    assert not low.startswith(prefix)
