"""Pure pieces: platforms, Retry-After, times, configs, host budgets, cache, secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path

import pytest

from automator.http import retry_after
from automator.registry import RegistryCache, RegistrySettings
from automator.registry.budget import HostBudget
from automator.registry.credentials import Credentials
from automator.registry.manifests import Platform, parse_time, read_config, select_platform
from automator.secrets import Secret


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("linux/amd64", "linux/amd64"),
        ("x86_64", "linux/amd64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/i386", "linux/386"),
        ("Windows/AMD64", "windows/amd64"),
    ],
)
def test_platform_normalisation(text: str, normal: str) -> None:
    assert str(Platform.parse(text)) == normal


def entry(arch: str, variant: str = "", os: str = "linux", **extra: object) -> dict[str, object]:
    plat = {"os": os, "architecture": arch} | ({"variant": variant} if variant else {})
    return {"digest": f"{os}-{arch}-{variant}", "platform": plat, **extra}


def test_select_platform_skips_attestations_and_falls_back_on_arm() -> None:
    attest = entry("unknown", os="unknown", annotations={"vnd.docker.reference.type": "x"})
    index = {"manifests": [attest, entry("arm", "v6"), entry("arm64", "v8"), entry("amd64")]}
    assert select_platform(index, Platform.parse("linux/arm64"))["digest"] == "linux-arm64-v8"  # type: ignore[index]
    assert select_platform(index, Platform.parse("linux/arm/v7"))["digest"] == "linux-arm-v6"  # type: ignore[index]
    assert select_platform(index, Platform.parse("unknown/unknown")) is None
    assert select_platform(index, Platform.parse("linux/s390x")) is None


def test_retry_after() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    now = 1_800_000_000.0  # a fixed Unix time: the date form is measured from ``now``
    assert retry_after(formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_parse_time_and_epoch_fallback() -> None:
    assert parse_time("2024-01-02T03:04:05.123456789Z") == datetime(
        2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC
    )
    assert parse_time("garbage") is None and parse_time(5) is None
    created, labels = read_config(
        {
            "created": "1970-01-01T00:00:00Z",
            "config": {
                "Labels": {"org.opencontainers.image.created": "2025-06-01T00:00:00Z", "n": 1}
            },
        }
    )
    assert created == datetime(2025, 6, 1, tzinfo=UTC)
    assert labels == {"org.opencontainers.image.created": "2025-06-01T00:00:00Z"}


def test_host_budget_halves_and_recovers_slowly() -> None:
    budget = HostBudget(40.0, 2)
    budget.slow_down(0.0)
    budget.slow_down(0.0)
    assert budget.rate == 10.0
    budget.recover()
    assert budget.rate == pytest.approx(10.8)
    for _ in range(100):
        budget.recover()
    assert budget.rate == 40.0


def test_cache_round_trip_and_ttl(tmp_path: Path) -> None:
    cache = RegistryCache(tmp_path / "c.db")
    cache.put_tags("r", ("1", "2"), '"etag"')
    got = cache.get_tags("r")
    assert got is not None and got.tags == ("1", "2") and got.etag == '"etag"'
    cache.put_digest("r", "1", "sha256:" + "0" * 64)
    assert cache.get_digest("r", "1", max_age=60) == "sha256:" + "0" * 64
    assert cache.get_digest("r", "1", max_age=-1) is None
    cache.close()
    assert cache.get_tags("r") is None  # closed: misses, never errors


def test_secrets_stay_hidden() -> None:
    settings = RegistrySettings("ghcr.io", username="u", password=Secret("pw-123456"))
    creds = Credentials("u", Secret("pw-123456"), Secret("tok-987654"))
    for text in (repr(settings), str(settings), repr(creds)):
        assert "pw-123456" not in text and "tok-987654" not in text
