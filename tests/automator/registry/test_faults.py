"""Pagination and injected faults through a proxy in front of registry 2.8.

Each fault is survived, reported and bounded in time; nothing invalid is returned.
"""

from __future__ import annotations

import time

import pytest

from automator.errors import RegistryError
from automator.reference import TAG_RE, parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.secrets import Secret
from testing.proxy import FaultProxy
from tests.automator.registry.conftest import TAGS, Seeded

SECRET = "proxy-pw-31337"


def client_for(proxy: FaultProxy, **settings: object) -> RegistryClient:
    base = {"insecure": True, "deadline": 8.0, "max_retry_wait": 3.0}
    return RegistryClient([RegistrySettings(proxy.host, **(base | settings))])  # type: ignore[arg-type]


def app(proxy: FaultProxy) -> object:
    return parse_reference(f"{proxy.host}/demo/app")


def test_follows_link_pages(proxy: FaultProxy) -> None:
    client = client_for(proxy)
    listing = client.tag_listing(parse_reference(f"{proxy.host}/demo/app"))
    assert listing.tags == tuple(sorted(TAGS)) and listing.complete
    assert listing.pages == 3  # two tags a page


def test_page_cap_warns_and_marks_incomplete(
    proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    listing = client_for(proxy, max_pages=2).tag_listing(parse_reference(f"{proxy.host}/demo/app"))
    assert len(listing.tags) == 4 and not listing.complete
    assert "max_pages" in caplog.text


def test_tag_cap(proxy: FaultProxy) -> None:
    listing = client_for(proxy, max_tags=3).tag_listing(parse_reference(f"{proxy.host}/demo/app"))
    assert len(listing.tags) == 3 and not listing.complete


@pytest.mark.parametrize("kind", ["429", "429-date", "503", "500", "reset", "short-body"])
def test_transient_faults_are_retried(proxy: FaultProxy, kind: str) -> None:
    proxy.inject("demo/app/tags", kind)
    started = time.monotonic()
    assert client_for(proxy).list_tags(parse_reference(f"{proxy.host}/demo/app")) == sorted(TAGS)
    assert time.monotonic() - started < 5


def test_429_halves_the_host_rate(proxy: FaultProxy) -> None:
    client = client_for(proxy, requests_per_second=40.0)
    proxy.inject("demo/app/tags", "429")
    client.list_tags(parse_reference(f"{proxy.host}/demo/app"))
    budget = client._transport.budget(proxy.host, client.settings_for(proxy.host))
    assert budget.rate < 40.0


def test_persistent_500_is_bounded(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "500", times=-1)
    started = time.monotonic()
    with pytest.raises(RegistryError, match="after 3 attempts") as info:
        client_for(proxy, max_attempts=3).list_tags(parse_reference(f"{proxy.host}/demo/app"))
    assert info.value.transient and time.monotonic() - started < 8


def test_long_retry_after_is_not_slept(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "429-long")
    started = time.monotonic()
    with pytest.raises(RegistryError, match="Retry-After") as info:
        client_for(proxy).list_tags(parse_reference(f"{proxy.host}/demo/app"))
    assert info.value.transient and time.monotonic() - started < 2


def test_slow_body_hits_the_deadline(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "slow", times=-1)
    started = time.monotonic()
    with pytest.raises(RegistryError) as info:
        client_for(proxy, deadline=2.0).list_tags(parse_reference(f"{proxy.host}/demo/app"))
    assert info.value.transient and time.monotonic() - started < 4


@pytest.mark.parametrize(("kind", "match"), [("truncated", "not a JSON"), ("oversized", "limit")])
def test_broken_answers_are_errors(proxy: FaultProxy, kind: str, match: str) -> None:
    proxy.inject("demo/app/tags", kind)
    with pytest.raises(RegistryError, match=match):
        client_for(proxy).list_tags(parse_reference(f"{proxy.host}/demo/app"))


def test_invalid_tags_are_dropped_and_counted(
    proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.inject("demo/app/tags", "evil-tags")
    listing = client_for(proxy).tag_listing(parse_reference(f"{proxy.host}/demo/app"))
    assert listing.tags == ("ok-1",)
    assert listing.dropped == 6
    assert all(TAG_RE.fullmatch(t) for t in listing.tags)
    assert "dropped 6 tags" in caplog.text


def test_null_tags_is_empty(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "null-tags")
    assert client_for(proxy).list_tags(parse_reference(f"{proxy.host}/demo/app")) == []


@pytest.mark.parametrize("kind", ["foreign-link", "scheme-link"])
def test_link_to_another_origin_is_refused_without_credentials(
    proxy: FaultProxy, kind: str
) -> None:
    proxy.inject("demo/app/tags", kind)
    client = client_for(proxy, username="alice", password=Secret(SECRET))
    listing = client.tag_listing(parse_reference(f"{proxy.host}/demo/app"))
    assert listing.tags == ("1.0",) and not listing.complete
    assert proxy.other.seen == []
    assert not any("evil" in path for _, path, _ in proxy.seen)


def test_401_without_challenge_reports_and_hides_secret(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "401")
    client = client_for(proxy, username="alice", password=Secret(SECRET))
    with pytest.raises(RegistryError, match="401") as info:
        client.list_tags(parse_reference(f"{proxy.host}/demo/app"))
    assert SECRET not in str(info.value) + repr(info.value) + repr(client.settings_for(proxy.host))


def test_faults_in_one_repository_do_not_stop_others(proxy: FaultProxy, seeded: Seeded) -> None:
    proxy.inject("demo/app/tags", "500", times=-1)
    refs = [parse_reference(f"{proxy.host}/{r}") for r in ("demo/app", "multi/app")]
    result = client_for(proxy, max_attempts=2).list_tags_many(refs)
    assert isinstance(result[refs[0].canonical_name], RegistryError)
    assert result[refs[1].canonical_name] == ["2.0", "2.1"]


def test_manifest_faults(proxy: FaultProxy, seeded: Seeded) -> None:
    proxy.inject("manifests/1.0", "503")
    client = client_for(proxy)
    ref = parse_reference(f"{proxy.host}/demo/app")
    assert client.digest(ref, "1.0") == seeded.single
    proxy.inject("blobs/", "truncated")
    with pytest.raises(RegistryError, match="does not match digest"):
        client.image_info(ref, "1.0")


def test_redirect_to_another_host_drops_credentials(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "401-basic")
    proxy.inject("demo/app/tags", "redirect-away")
    client = client_for(proxy, username="alice", password=Secret(SECRET))
    assert client.list_tags(parse_reference(f"{proxy.host}/demo/app")) == ["stolen"]
    assert proxy.seen[-1][2].startswith("Basic ")  # the registry itself got them
    assert [auth for _, auth in proxy.other.seen] == [""]  # the other host did not


def test_last_fallback_without_link(registry: object, seeded: Seeded) -> None:
    with FaultProxy(registry.url, page_size=2, link=False) as bare:  # type: ignore[attr-defined]
        listing = client_for(bare, page_size=2).tag_listing(
            parse_reference(f"{bare.host}/demo/app")
        )
    assert listing.tags == tuple(sorted(TAGS)) and listing.complete
    assert listing.pages == 4  # three full pages, then an empty one
