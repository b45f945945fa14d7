"""Pagination and injected faults through a proxy in front of registry 2.8.

Each fault is survived, reported and bounded (in attempts, and in waits asked of an
injected clock); nothing invalid is returned.
"""

from __future__ import annotations

import pytest

from automator.errors import RegistryError
from automator.http import DeadlinePassed
from automator.reference import TAG_RE, parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.secrets import Secret
from testing.proxy import FaultProxy
from tests.automator.registry.conftest import TAGS, Seeded
from tests.faketime import FakeTime

SECRET = "proxy-pw-31337"


def client_for(
    proxy: FaultProxy, time: FakeTime | None = None, **settings: object
) -> RegistryClient:
    base = {"insecure": True, "deadline": 8.0, "max_retry_wait": 3.0}
    http = time.http() if time is not None else None
    return RegistryClient([RegistrySettings(proxy.host, **(base | settings))], http=http)  # type: ignore[arg-type]


def tag_requests(proxy: FaultProxy) -> int:
    return sum("/demo/app/tags/list" in path for _, path, _ in proxy.seen)


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


# the longest the waits may add up to: a Retry-After of 1 s (or, for a 503 without one,
# the host held for 1 s), else the first backoff's ceiling of 0.2 s
WAITED = {"429": 1.0, "429-date": 1.0, "503": 1.0, "500": 0.2, "reset": 0.2, "short-body": 0.2}


@pytest.mark.parametrize("kind", ["429", "429-date", "503", "500", "reset", "short-body"])
def test_transient_faults_are_retried(proxy: FaultProxy, kind: str) -> None:
    proxy.inject("demo/app/tags", kind)
    time = FakeTime()
    client = client_for(proxy, time, requests_per_second=0)  # no pacing: only retry waits
    assert client.list_tags(parse_reference(f"{proxy.host}/demo/app")) == sorted(TAGS)
    assert tag_requests(proxy) == 4  # the fault, tried again, then two more pages
    assert 1 <= len(time.sleeps) <= 2 and sum(time.sleeps) <= WAITED[kind] + 1e-9  # float sums
    if kind == "429":
        assert time.sleeps == [1.0]  # the Retry-After, honoured once


def test_429_halves_the_host_rate(proxy: FaultProxy) -> None:
    client = client_for(proxy, FakeTime(), requests_per_second=40.0)
    proxy.inject("demo/app/tags", "429")
    client.list_tags(parse_reference(f"{proxy.host}/demo/app"))
    budget = client._transport.budget(proxy.host, client.settings_for(proxy.host))
    assert budget.rate < 40.0


def test_persistent_500_is_bounded(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "500", times=-1)
    time = FakeTime()
    with pytest.raises(RegistryError, match="after 3 attempts") as info:
        client_for(proxy, time, max_attempts=3, requests_per_second=0).list_tags(
            parse_reference(f"{proxy.host}/demo/app")
        )
    assert info.value.transient
    assert tag_requests(proxy) == 3
    assert len(time.sleeps) == 2 and sum(time.sleeps) <= 0.2 + 0.4 + 1e-9  # two jittered backoffs


def test_long_retry_after_is_not_slept(proxy: FaultProxy) -> None:
    proxy.inject("demo/app/tags", "429-long")
    time = FakeTime()
    with pytest.raises(RegistryError, match="Retry-After") as info:
        client_for(proxy, time).list_tags(parse_reference(f"{proxy.host}/demo/app"))
    assert info.value.transient
    assert time.sleeps == [] and tag_requests(proxy) == 1


def test_slow_body_hits_the_deadline(proxy: FaultProxy) -> None:
    # real time: the proxy drips a byte every 0.1 s, under the read timeout, for a minute
    proxy.inject("demo/app/tags", "slow", times=-1)
    with pytest.raises(RegistryError, match="gave up at the deadline") as info:
        client_for(proxy, deadline=2.0).list_tags(parse_reference(f"{proxy.host}/demo/app"))
    assert info.value.transient
    cause = info.value.__cause__
    assert isinstance(cause, DeadlinePassed) and cause.seconds == 2.0
    assert tag_requests(proxy) == 1  # cut at the deadline, not tried again


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
    # the other host is loopback too: private_redirects lets the redirect reach it at all
    client = client_for(proxy, username="alice", password=Secret(SECRET), private_redirects=True)
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
