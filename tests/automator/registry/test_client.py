"""Tags, digests and image configs from a real distribution 2.8 registry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from automator.errors import RegistryError
from automator.reference import parse_reference
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from testing.registry import Registry
from tests.automator.registry.conftest import TAGS, Seeded


def client_for(registry: Registry, **kwargs: object) -> RegistryClient:
    return RegistryClient([RegistrySettings(registry.host, insecure=True)], **kwargs)  # type: ignore[arg-type]


def test_lists_tags_sorted(registry: Registry, seeded: Seeded) -> None:
    client = client_for(registry)
    assert client.list_tags(parse_reference(f"{registry.host}/demo/app")) == sorted(TAGS)
    assert client.requests_sent == 1


def test_list_tags_many_dedupes_and_reports_errors(registry: Registry, seeded: Seeded) -> None:
    client = client_for(registry)
    app = f"{registry.host}/demo/app"
    refs = [parse_reference(t) for t in (app, app + ":1.0", f"{registry.host}/multi/app")]
    refs.append(parse_reference(f"{registry.host}/no/such"))
    result = client.list_tags_many(refs)
    assert list(result) == [app, f"{registry.host}/multi/app", f"{registry.host}/no/such"]
    assert result[app] == sorted(TAGS)
    missing = result[f"{registry.host}/no/such"]
    assert isinstance(missing, RegistryError) and not missing.transient
    assert "404" in str(missing) and "check" in str(missing)
    assert client.requests_sent == 3  # one listing per repository


def test_digest_by_head_matches_push(registry: Registry, seeded: Seeded) -> None:
    client = client_for(registry)
    app = parse_reference(f"{registry.host}/demo/app:1.0")
    assert client.digest(app) == seeded.single
    assert client.digest(app, "1.1") == seeded.docker  # Docker v2 keeps its digest (no schema1)
    multi = parse_reference(f"{registry.host}/multi/app")
    assert client.digest(multi, "2.0") == seeded.index
    assert client.digest(multi, "2.1") == seeded.docker_list


def test_image_info_single_and_labels(registry: Registry, seeded: Seeded) -> None:
    client = client_for(registry)
    info = client.image_info(parse_reference(f"{registry.host}/demo/app"), "1.0")
    assert info.digest == seeded.single
    assert info.created == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert info.source == "https://example.test/acme/app"
    assert info.revision == "abc123"
    docker = client.image_info(parse_reference(f"{registry.host}/demo/app"), "1.1")
    assert docker.digest == seeded.docker and docker.created is not None


@pytest.mark.parametrize(
    ("tag", "platform", "created"),
    [
        ("2.0", None, "2024-03-01T00:00:00+00:00"),  # linux/amd64 by default, attestation skipped
        ("2.0", "linux/arm64/v8", "2024-03-01T00:00:01+00:00"),
        ("2.0", "aarch64", "2024-03-01T00:00:01+00:00"),
        ("2.1", "linux/arm/v7", "2024-04-01T00:00:02+00:00"),
        ("2.1", "linux/arm", "2024-04-01T00:00:02+00:00"),
        ("2.1", "linux/amd64", "2024-04-01T00:00:00+00:00"),
    ],
)
def test_image_info_selects_platform(
    registry: Registry, seeded: Seeded, tag: str, platform: str | None, created: str
) -> None:
    client = client_for(registry)
    info = client.image_info(parse_reference(f"{registry.host}/multi/app"), tag, platform)
    assert info.digest == (seeded.index if tag == "2.0" else seeded.docker_list)
    assert info.created == datetime.fromisoformat(created)


def test_image_info_unknown_platform_is_permanent(registry: Registry, seeded: Seeded) -> None:
    client = client_for(registry)
    with pytest.raises(RegistryError, match="platform") as info:
        client.image_info(parse_reference(f"{registry.host}/multi/app"), "2.0", "linux/s390x")
    assert not info.value.transient


def test_missing_tag_is_a_typed_404(registry: Registry, seeded: Seeded) -> None:
    with pytest.raises(RegistryError, match="404") as info:
        client_for(registry).digest(parse_reference(f"{registry.host}/demo/app"), "9.9")
    assert not info.value.transient


def test_cache_serves_digests_and_configs(
    registry: Registry, seeded: Seeded, tmp_path: Path
) -> None:
    cache = RegistryCache(tmp_path / "cache.db")
    client = client_for(registry, cache=cache)
    ref = parse_reference(f"{registry.host}/multi/app")
    first = client.image_info(ref, "2.0", "linux/arm64")
    sent = client.requests_sent
    again = RegistryClient(
        [RegistrySettings(registry.host, insecure=True)], cache=RegistryCache(tmp_path / "cache.db")
    )
    assert again.image_info(ref, "2.0", "linux/arm64") == first
    assert again.requests_sent == 0 and sent > 0


def test_corrupt_cache_is_moved_aside(
    registry: Registry, seeded: Seeded, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"this is not sqlite" * 100)
    client = client_for(registry, cache=RegistryCache(path))
    assert client.list_tags(parse_reference(f"{registry.host}/demo/app")) == sorted(TAGS)
    assert any(p.name.startswith("cache.db.corrupt-") for p in tmp_path.iterdir())
    assert "moved it to" in caplog.text


def test_plain_http_refused_without_insecure(registry: Registry, seeded: Seeded) -> None:
    client = RegistryClient([RegistrySettings(registry.host, deadline=3, max_attempts=2)])
    with pytest.raises(RegistryError) as info:
        client.list_tags(parse_reference(f"{registry.host}/demo/app"))
    assert "\n" not in str(info.value)


def test_keeps_a_caller_session(registry: Registry, seeded: Seeded) -> None:
    session = requests.Session()
    client = RegistryClient([RegistrySettings(registry.host, insecure=True)], session=session)
    assert client.list_tags(parse_reference(f"{registry.host}/multi/app")) == ["2.0", "2.1"]
