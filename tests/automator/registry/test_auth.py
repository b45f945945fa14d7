"""Basic, Bearer (anonymous, user, identity token), docker config and credential helpers."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from automator.errors import RegistryError
from automator.reference import parse_reference
from automator.registry import RegistryClient, RegistrySettings
from automator.registry.auth import parse_challenges
from automator.secrets import Secret
from testing.registry import Registry
from tests.automator.registry.conftest import IDENTITY_TOKEN, PASSWORD, TAGS, USER, TokenSetup


def test_basic_auth_with_settings(basic_registry: Registry) -> None:
    settings = RegistrySettings(
        basic_registry.host, insecure=True, username=USER, password=Secret(PASSWORD)
    )
    client = RegistryClient([settings])
    ref = parse_reference(f"{basic_registry.host}/demo/app")
    assert client.list_tags(ref) == sorted(TAGS)
    assert client.digest(ref, "1.0").startswith("sha256:")
    assert client.requests_sent == 3  # 401 once, then Basic up front
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(
        client.settings_for(settings.host)
    )


def test_basic_auth_wrong_password_is_a_permanent_401(basic_registry: Registry) -> None:
    settings = RegistrySettings(
        basic_registry.host, insecure=True, username=USER, password=Secret("wrong-pw-1234")
    )
    with pytest.raises(RegistryError) as info:
        RegistryClient([settings]).list_tags(parse_reference(f"{basic_registry.host}/demo/app"))
    assert "401" in str(info.value) and "credentials" in str(info.value)
    assert "wrong-pw-1234" not in str(info.value) + repr(info.value)
    assert not info.value.transient


def test_basic_auth_without_credentials(basic_registry: Registry) -> None:
    client = RegistryClient([RegistrySettings(basic_registry.host, insecure=True)])
    with pytest.raises(RegistryError, match="401"):
        client.list_tags(parse_reference(f"{basic_registry.host}/demo/app"))


def test_anonymous_bearer_and_token_cache(token_registry: TokenSetup) -> None:
    host = token_registry.registry.host
    client = RegistryClient([RegistrySettings(host, insecure=True)])
    ref = parse_reference(f"{host}/demo/app")
    assert client.list_tags(ref) == sorted(TAGS)
    client.digest(ref, "1.0")
    client.image_info(ref, "1.1")
    assert client.token_fetches == 1  # one token for the repository scope, reused
    multi = parse_reference(f"{host}/multi/app")
    assert client.list_tags(multi) == ["2.0", "2.1"]
    assert client.token_fetches == 2
    assert client.requests_sent == 9  # 401 + token + tags; HEAD; HEAD + 2 GETs; token + tags


def test_bearer_with_password_at_the_realm(token_registry: TokenSetup) -> None:
    host = token_registry.registry.host
    settings = RegistrySettings(host, insecure=True, username=USER, password=Secret(PASSWORD))
    client = RegistryClient([settings])
    token_registry.tokens.seen.clear()
    assert client.list_tags(parse_reference(f"{host}/demo/app")) == sorted(TAGS)
    ((method, _, authorization),) = token_registry.tokens.seen
    assert method == "GET" and authorization.startswith("Basic ")


def test_identity_token_posts_a_refresh_grant(token_registry: TokenSetup) -> None:
    host = token_registry.registry.host
    settings = RegistrySettings(host, insecure=True, identity_token=Secret(IDENTITY_TOKEN))
    token_registry.tokens.seen.clear()
    client = RegistryClient([settings])
    assert client.list_tags(parse_reference(f"{host}/multi/app")) == ["2.0", "2.1"]
    assert [s[0] for s in token_registry.tokens.seen] == ["POST"]
    assert IDENTITY_TOKEN not in repr(settings)


def test_bad_identity_token_is_refused(token_registry: TokenSetup) -> None:
    host = token_registry.registry.host
    settings = RegistrySettings(host, insecure=True, identity_token=Secret("nope-token-77"))
    with pytest.raises(RegistryError, match="refused a token") as info:
        RegistryClient([settings]).list_tags(parse_reference(f"{host}/multi/app"))
    assert "nope-token-77" not in str(info.value) + repr(info.value)


def test_token_server_429_is_retried(token_registry: TokenSetup) -> None:
    host = token_registry.registry.host
    token_registry.tokens.fail_next.extend([429])
    client = RegistryClient([RegistrySettings(host, insecure=True)])
    assert client.list_tags(parse_reference(f"{host}/demo/app")) == sorted(TAGS)


def write_docker_config(path: Path, host: str, **extra: object) -> None:
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": auth}}, **extra}))


def test_docker_config_json(basic_registry: Registry, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    write_docker_config(config, basic_registry.host)
    client = RegistryClient(
        [RegistrySettings(basic_registry.host, insecure=True)], docker_config=str(config)
    )
    assert client.list_tags(parse_reference(f"{basic_registry.host}/demo/app")) == sorted(TAGS)


def test_kubernetes_dockerconfigjson_secret(token_registry: TokenSetup, tmp_path: Path) -> None:
    host = token_registry.registry.host
    inner = tmp_path / "inner.json"
    write_docker_config(inner, f"http://{host}/v1/")  # legacy URL keys still match the host
    secret = tmp_path / "secret.json"
    secret.write_text(
        json.dumps({".dockerconfigjson": base64.b64encode(inner.read_bytes()).decode()})
    )
    settings = RegistrySettings(host, insecure=True, docker_config=str(secret))
    token_registry.tokens.seen.clear()
    assert RegistryClient([settings]).list_tags(parse_reference(f"{host}/demo/app")) == sorted(TAGS)
    assert token_registry.tokens.seen[0][2].startswith("Basic ")


def test_credential_helper(
    basic_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-test"
    log = tmp_path / "asked"
    helper.write_text(
        "#!/bin/sh\n"
        f'read server; echo "$1 $server" >> {log}\n'
        f'printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}\' "$server"\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"credHelpers": {basic_registry.host: "test"}}))
    settings = RegistrySettings(basic_registry.host, insecure=True, docker_config=str(config))
    client = RegistryClient([settings])
    assert client.list_tags(parse_reference(f"{basic_registry.host}/demo/app")) == sorted(TAGS)
    assert log.read_text().split() == ["get", basic_registry.host]
    assert PASSWORD not in repr(client.settings_for(basic_registry.host))


def test_missing_docker_config_says_what_to_check(basic_registry: Registry, tmp_path: Path) -> None:
    settings = RegistrySettings(
        basic_registry.host, insecure=True, docker_config=str(tmp_path / "absent.json")
    )
    with pytest.raises(RegistryError, match="cannot read docker config"):
        RegistryClient([settings]).list_tags(parse_reference(f"{basic_registry.host}/demo/app"))


@pytest.mark.parametrize(
    ("value", "schemes", "realm"),
    [
        (
            'Bearer realm="https://a/token",service="s",scope="repository:x:pull"',
            ["bearer"],
            "https://a/token",
        ),
        (
            'Basic realm="quay.io", Bearer realm="https://quay.io/v2/auth",service="quay.io"',
            ["bearer", "basic"],
            "https://quay.io/v2/auth",
        ),
        ("basic realm=plain", ["basic"], "plain"),
        ("Negotiate", [], ""),
    ],
)
def test_parse_challenges(value: str, schemes: list[str], realm: str) -> None:
    found = parse_challenges(value)
    assert [c.scheme for c in found] == schemes
    assert (found[0].realm if found else "") == realm
