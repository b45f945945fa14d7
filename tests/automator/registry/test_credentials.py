"""Credentials have a lifecycle: files read again when they change, helpers run again on
expiry or a 401, bearer tokens renewed at their ``expires_in``; counted, never timed."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from automator.adapters import registry_settings
from automator.config import Config, parse_config
from automator.errors import ConfigError, RegistryError
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.registry.credentials import (
    Credentials,
    Fetched,
    Renewing,
    provider_for,
)
from automator.registry.credentials.aws import region_of
from automator.registry.credentials.azure import jwt_expiry
from automator.registry.credentials.base import MIN_REUSE, REFETCH_AFTER_REFUSAL
from automator.registry.credentials.extras import import_extra
from automator.registry.credentials.files import HELPER_TTL
from automator.secrets import Secret
from testing import MissingServer
from testing.registry import Pusher, Registry
from testing.tokenserver import PushAuth, TokenServer
from tests.automator.registry.conftest import PASSWORD, TAGS, USER
from tests.conftest import need
from tests.faketime import FakeTime


class Wall:
    """A wall clock that moves when told."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Counted:
    """A source that answers a new password each fetch, expiring ``lifetime`` later."""

    def __init__(self, clock: Wall, lifetime: float | None) -> None:
        self.clock, self.lifetime = clock, lifetime
        self.fetches = 0
        self.moved = False

    def fetch(self) -> Fetched:
        self.fetches += 1
        self.moved = False
        expires = None if self.lifetime is None else self.clock() + self.lifetime
        return Fetched(Credentials("u", Secret(f"pw-{self.fetches}"), source="counted"), expires)

    def changed(self) -> bool:
        return self.moved


def test_renewing_fetches_shortly_before_expiry_not_at_each_use() -> None:
    clock = Wall()
    source = Counted(clock, lifetime=12 * 3600)  # an ECR token
    provider = Renewing(source, clock)
    for _ in range(5):
        provider.credentials()
    assert source.fetches == 1
    clock.now += 12 * 3600 - 301  # more than the 5 min margin left
    provider.credentials()
    assert source.fetches == 1
    clock.now += 2
    assert provider.credentials().password == Secret("pw-2")
    assert source.fetches == 2


def test_a_short_lifetime_is_renewed_at_a_tenth_of_it() -> None:
    clock = Wall()
    source = Counted(clock, lifetime=2.0)
    provider = Renewing(source, clock)
    provider.credentials()
    clock.now += 1.7
    provider.credentials()
    clock.now += 0.2  # 1.9 s: inside the last 10 %
    provider.credentials()
    assert source.fetches == 2


def test_a_change_on_disk_and_a_refusal_fetch_again() -> None:
    clock = Wall()
    source = Counted(clock, lifetime=None)
    provider = Renewing(source, clock)
    provider.credentials()
    source.moved = True
    provider.credentials()
    assert source.fetches == 2
    provider.refused()  # just fetched: a fresh fetch would answer the same
    provider.credentials()
    assert source.fetches == 2
    clock.now += REFETCH_AFTER_REFUSAL
    provider.refused()
    provider.credentials()
    provider.credentials()
    assert source.fetches == 3


def test_credentials_expired_when_fetched_are_kept_a_little(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Wall()
    source = Counted(clock, lifetime=-3600.0)  # moto's ECR token expired in 2015
    provider = Renewing(source, clock)
    with caplog.at_level(logging.WARNING):
        provider.credentials()
        clock.now += MIN_REUSE - 1
        provider.credentials()
    assert source.fetches == 1
    assert "had expired when fetched" in caplog.text and "pw-1" not in caplog.text


def kubernetes_mount(mount: Path, password: str) -> None:
    """The kubelet's layout: ``password`` -> ``..data/password``; ``..data`` swapped."""
    version = mount / f"..{uuid.uuid4().hex[:8]}"
    version.mkdir(parents=True)
    (version / "password").write_text(password + "\n")
    (mount / "..tmp").symlink_to(version.name)
    os.replace(mount / "..tmp", mount / "..data")
    if not (mount / "password").is_symlink():
        (mount / "password").symlink_to("..data/password")


def test_a_password_file_is_read_again_only_when_swapped(
    basic_registry: Registry, tmp_path: Path
) -> None:
    mount = tmp_path / "secret"
    kubernetes_mount(mount, "wrong-pw-5678")
    settings = RegistrySettings(
        basic_registry.host, insecure=True, username=USER, password_file=str(mount / "password")
    )
    client = RegistryClient([settings])
    ref = parse_reference(f"{basic_registry.host}/demo/app")
    with pytest.raises(RegistryError, match="401") as info:
        client.list_tags(ref)
    assert "wrong-pw-5678" not in str(info.value) + repr(info.value)
    kubernetes_mount(mount, PASSWORD)
    assert client.list_tags(ref) == sorted(TAGS)  # the same client: no restart

    provider = provider_for(settings, post=lambda url, form: (500, b""))
    assert isinstance(provider, Renewing)
    for _ in range(3):
        assert provider.credentials().password == Secret(PASSWORD)
    assert provider.fetches == 1  # a stat per use, a read per change
    kubernetes_mount(mount, "third-pw-9012")
    assert provider.credentials().password == Secret("third-pw-9012")
    assert provider.fetches == 2
    assert "pw" not in repr(provider).replace("password", "")


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """docker-credential-rotating: answers the password in ``answer``; logs each run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    answer, runs = tmp_path / "answer", tmp_path / "runs"
    script = bin_dir / "docker-credential-rotating"
    script.write_text(
        "#!/bin/sh\n"
        f"read server; echo run >> {runs}\n"
        f'printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"%s"}}\''
        f' "$server" "$(cat {answer})"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield answer, runs


def test_a_credential_helper_runs_again_after_a_401_and_at_expiry(
    basic_registry: Registry, tmp_path: Path, helper: tuple[Path, Path]
) -> None:
    answer, runs = helper
    answer.write_text("expired-token-1")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {basic_registry.host: "rotating"}}))
    settings = RegistrySettings(basic_registry.host, insecure=True, docker_config=str(config))
    wall = Wall()
    client = RegistryClient([settings], wall=wall)
    ref = parse_reference(f"{basic_registry.host}/demo/app")
    with pytest.raises(RegistryError, match="401"):
        client.list_tags(ref)
    assert len(runs.read_text().split()) == 1  # just ran: a 401 does not run it again at once

    answer.write_text(PASSWORD)
    wall.now += REFETCH_AFTER_REFUSAL
    assert client.list_tags(ref) == sorted(TAGS)  # 401 to the old token, the helper again
    assert len(runs.read_text().split()) == 2
    client.digest(ref, "1.0")
    assert len(runs.read_text().split()) == 2
    wall.now += HELPER_TTL
    client.digest(ref, "1.1")
    assert len(runs.read_text().split()) == 3  # its answer expired


@pytest.fixture
def short_tokens(tmp_path: Path) -> Iterator[tuple[Registry, TokenServer]]:
    """A token-mode registry whose tokens live 2 seconds."""
    with TokenServer(tmp_path / "bundle.pem", users={USER: PASSWORD}, expires_in=2) as tokens:
        try:
            server = Registry(tmp_path / "registry", auth_config=tokens.auth_config())
        except MissingServer as exc:
            need(exc)
        with server:
            session = requests.Session()
            session.auth = PushAuth(tokens.realm, USER, PASSWORD)  # type: ignore[assignment]
            Pusher(server.url, session).tag("demo/app", ["1.0"])
            yield server, tokens


def test_a_two_second_token_is_renewed_not_reused(
    short_tokens: tuple[Registry, TokenServer],
) -> None:
    registry, _ = short_tokens
    time = FakeTime()
    client = RegistryClient([RegistrySettings(registry.host, insecure=True)], http=time.http())
    ref = parse_reference(f"{registry.host}/demo/app")
    for _ in range(3):
        assert client.list_tags(ref) == ["1.0"]
    assert client.token_fetches == 1  # within its life: reused
    time.sleep(2.0)
    client.list_tags(ref)
    assert client.token_fetches == 2  # past it: a new one, sent up front
    time.sleep(1.0)
    client.list_tags(ref)
    assert client.token_fetches == 2


def test_a_missing_extra_says_how_to_install_it() -> None:
    with pytest.raises(ConfigError) as info:
        import_extra("automator_no_such_sdk", "aws", "123456789012.dkr.ecr.eu-west-1.amazonaws.com")
    assert str(info.value) == (
        "registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com: provider aws needs"
        " `pip install automator[aws]`"
    )


@pytest.mark.parametrize(
    ("token", "expiry"),
    [
        ("e30.eyJleHAiOjE3MDAwMDAwMDB9.sig", 1_700_000_000.0),  # {"exp": 1700000000}
        ("e30.e30.sig", None),
        ("opaque-refresh-token", None),
        ("a.!!!.c", None),
    ],
)
def test_jwt_expiry(token: str, expiry: float | None) -> None:
    assert jwt_expiry(token) == expiry


def config_with(registry: dict[str, object]) -> Config:
    return parse_config({"sources": [{"name": "s", "url": "file:///r"}], "registries": [registry]})


def test_a_cloud_provider_reaches_the_settings() -> None:
    config = config_with(
        {"host": "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "provider": "aws"}
    )
    (settings,) = registry_settings(config)
    assert settings.provider == "aws" and settings.password is None
    assert region_of(settings.host) == "eu-west-1"
    assert region_of("ghcr.io") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"provider": "aws", "password_file": "/p"}, "provider aws mints its own credentials"),
        ({"provider": "gcp", "docker_config": "/c"}, "remove docker_config"),
        ({"provider": "oracle"}, "registries[0].provider"),
    ],
)
def test_a_cloud_provider_takes_no_other_credentials(
    entry: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_with({"host": "r.example", **entry})


def test_a_password_file_that_is_missing_fails_at_startup(tmp_path: Path) -> None:
    config = config_with(
        {"host": "r.example", "username": "u", "password_file": str(tmp_path / "absent")}
    )
    with pytest.raises(ConfigError, match=r"registries\[0\] \(r.example\) password: cannot read"):
        registry_settings(config)
