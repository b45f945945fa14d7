"""adapters: the one module that reads secrets and builds clients from automator.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from automator import adapters
from automator.config import parse_config
from automator.errors import ConfigError
from automator.git import GitRepo, Identity
from automator.logs import redact
from automator.secrets import Secret

GIT_TOKEN = "git-token-8f2c1a"
FORGE_TOKEN = "forge-token-77d0e4"
REGISTRY_PASSWORD = "registry-pw-3b9e55"


def config(**write: Any) -> dict[str, Any]:
    return {
        "sources": [
            {
                "name": "fleet",
                "url": "https://git.example.test/acme/fleet.git",
                "auth": {"token_env": "T_GIT_TOKEN"},
                "paths": ["apps", "base"],
            },
            {"name": "other", "url": "https://git.example.test/acme/other.git", "branch": "prod"},
        ],
        "registries": [
            {"host": "reg.example.test", "username": "bot", "password_env": "T_REGISTRY_PW"}
        ],
        "write": write
        or {
            "mode": "pull-request",
            "group": "workload",
            "commit": {"author": "bot <bot@example.test>", "skip_ci": True},
            "forge": {
                "kind": "github",
                "repository": "acme/fleet",
                "token_env": "T_FORGE_TOKEN",
                "labels": ["deps"],
                "auto_merge": True,
            },
        },
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("T_GIT_TOKEN", GIT_TOKEN)
    monkeypatch.setenv("T_FORGE_TOKEN", FORGE_TOKEN)
    monkeypatch.setenv("T_REGISTRY_PW", REGISTRY_PASSWORD)
    return monkeypatch


def test_settings_reach_the_engine_as_frozen_values(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = adapters.engine(parse_config(config()), tmp_path)
    built = engine.adapters

    assert [(s.name, s.branch, s.paths) for s in built.sources] == [
        ("fleet", "main", ("apps", "base")),
        ("other", "prod", (".",)),
    ]
    assert built.write.mode == "pull-request"
    assert built.write.commit.author == Identity("bot", "bot@example.test")
    assert built.write.commit.skip_ci
    assert (built.write.pulls.group, built.write.pulls.labels) == ("workload", ("deps",))
    assert built.write.pulls.auto_merge
    assert built.forge is not None and built.signer is None


def test_every_secret_read_is_redacted_from_logs(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = adapters.engine(parse_config(config()), tmp_path)
    assert engine.adapters.forge is not None
    engine.adapters.repo(engine.sources[0])
    engine.adapters.forge()

    for value in (GIT_TOKEN, FORGE_TOKEN, REGISTRY_PASSWORD):
        assert redact(f"the value is {value}.") == "the value is ***."
    assert all(v not in repr(engine.adapters) for v in (GIT_TOKEN, FORGE_TOKEN, REGISTRY_PASSWORD))


def test_git_and_forge_tokens_are_read_at_each_use_so_rotation_needs_no_restart(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    engine = adapters.engine(parse_config(config()), tmp_path)
    fleet = engine.sources[0]
    first = engine.adapters.repo(fleet)
    assert isinstance(first, GitRepo) and first.auth is not None
    assert first.auth.password == Secret(GIT_TOKEN)

    env.setenv("T_GIT_TOKEN", "git-token-rotated")
    second = engine.adapters.repo(fleet)
    assert isinstance(second, GitRepo) and second.auth is not None
    assert second.auth.password == Secret("git-token-rotated")


def test_a_missing_secret_is_one_line_naming_the_setting(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.delenv("T_REGISTRY_PW")
    with pytest.raises(ConfigError) as info:
        adapters.engine(parse_config(config()), tmp_path)
    assert str(info.value) == (
        "registries[0] (reg.example.test) password: environment variable T_REGISTRY_PW"
        " is not set; export it"
    )

    env.setenv("T_REGISTRY_PW", REGISTRY_PASSWORD)
    env.delenv("T_GIT_TOKEN")
    engine = adapters.engine(parse_config(config()), tmp_path)
    with pytest.raises(ConfigError, match=r"^sources\[0\] \(fleet\) auth token: .*T_GIT_TOKEN"):
        engine.adapters.repo(engine.sources[0])


def test_the_scanner_reads_no_registry_forge_or_signing_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("T_GIT_TOKEN", GIT_TOKEN)
    for name in ("T_FORGE_TOKEN", "T_REGISTRY_PW"):
        monkeypatch.delenv(name, raising=False)
    scanner = adapters.scanner(parse_config(config()), tmp_path)
    assert scanner.adapters.signer is None
    assert scanner.adapters.write.mode == "dry-run"
    # pull-request mode: a forge factory, so check can read declined versions; it reads
    # its token only when called, and says which setting is missing (check prints that)
    assert scanner.adapters.forge is not None
    with pytest.raises(ConfigError, match="T_FORGE_TOKEN"):
        scanner.adapters.forge()


def test_push_mode_builds_no_forge(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = adapters.engine(parse_config(config(mode="push")), tmp_path)
    assert engine.adapters.forge is None
    assert engine.adapters.write.mode == "push"
