"""automator.yaml: every error names its key path and says what to do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from automator.config import json_schema, load_config, parse_config
from automator.errors import ConfigError
from automator.secrets import Secret, secret_from

MINIMAL = {"sources": [{"name": "fleet", "url": "git://example.test/fleet.git"}]}


def test_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.sources[0].branch == "main"
    assert config.sources[0].paths == ["."]
    assert config.write.mode == "push"
    assert config.interval_seconds == 300


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "automator.yaml: sources: required; add it"),
        ({"sources": []}, "automator.yaml: sources: List should have at least 1 item"),
        ({"sources": [{"name": "x"}]}, "automator.yaml: sources[0].url: required; add it"),
        (
            {"sources": [{"name": "x", "url": "u", "brnch": "main"}]},
            "automator.yaml: sources[0].brnch: unknown key; check its spelling",
        ),
        (
            {**MINIMAL, "interval": "5 minutes"},
            "automator.yaml: interval: '5 minutes' is not a duration like 30s, 5m or 1h30m",
        ),
        (
            {"sources": [{"name": "x", "url": "u", "paths": ["../etc"]}]},
            "automator.yaml: sources[0].paths: '../etc' must be relative to the repository"
            " root, without ..",
        ),
        (
            {**MINIMAL, "write": {"mode": "yolo"}},
            "automator.yaml: write.mode: Input should be 'push', 'pull-request' or 'dry-run'",
        ),
    ],
)
def test_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "why", "safe"),
    [
        ("a..b", "holds '..'", "a.b"),
        ("x.lock", "ends with '.lock'", "x"),
        ("y.", "ends with '.'", "y"),
        ("prod...eu.", "holds '..'", "prod.eu"),
    ],
)
def test_a_source_name_must_be_a_git_ref_component(name: str, why: str, safe: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"sources": [{"name": name, "url": "u"}]})
    assert str(info.value) == (
        f"automator.yaml: sources[0].name: {name!r} {why}, which Git refuses in a ref name"
        f" (refs/automator/first-seen/{name}); rename the source, e.g. to {safe!r}"
    )


@pytest.mark.parametrize("name", ["fleet", "prod.eu-1", "a.b_c", "lock", "x.locked", "v1.2"])
def test_ref_safe_source_names_pass_and_git_agrees(name: str) -> None:
    assert parse_config({"sources": [{"name": name, "url": "u"}]}).sources[0].name == name
    subprocess.run(["git", "check-ref-format", f"refs/automator/first-seen/{name}"], check=True)


@pytest.mark.parametrize("name", ["a..b", "x.lock", "y."])
def test_git_refuses_what_config_refuses(name: str) -> None:
    checked = subprocess.run(["git", "check-ref-format", f"refs/automator/dashboard/{name}"])
    assert checked.returncode != 0


def test_interval_forms() -> None:
    assert parse_config({**MINIMAL, "interval": "1h30m"}).interval_seconds == 5400
    assert parse_config({**MINIMAL, "interval": "45s"}).interval_seconds == 45


def test_load_reports_yaml_position(tmp_path: Path) -> None:
    path = tmp_path / "automator.yaml"
    path.write_text("sources:\n  - name: a\n   url: b\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3, column \d+"):
        load_config(path)


def test_load_rejects_a_scalar_document(tmp_path: Path) -> None:
    path = tmp_path / "automator.yaml"
    path.write_text("just a string\n")
    with pytest.raises(ConfigError, match="expected a mapping with a 'sources' key"):
        load_config(path)


def test_schema_describes_sources() -> None:
    schema = json_schema()
    assert "sources" in schema["required"]
    assert schema["additionalProperties"] is False


def test_secret_never_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_TOKEN", "s3cr3t-value")
    secret = secret_from(env="FLEET_TOKEN", what="sources[0].auth.token_env")
    assert secret.reveal() == "s3cr3t-value"
    for text in (repr(secret), str(secret), f"{secret}", repr([secret]), repr({"t": secret})):
        assert "s3cr3t" not in text
    assert secret == Secret("s3cr3t-value")


def test_secret_missing_env_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="NOPE_TOKEN is not set; export it"):
        secret_from(env="NOPE_TOKEN", what="sources[0].auth.token_env")


def test_secret_from_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("abc\n")
    assert secret_from(file=tmp_path / "token", what="x").reveal() == "abc"
    with pytest.raises(ConfigError, match="x: cannot read"):
        secret_from(file=tmp_path / "missing", what="x")


def test_a_dashboard_needs_a_forge_and_a_source_may_opt_in_or_out() -> None:
    source = {"name": "fleet", "url": "https://git.example.com/fleet.git"}
    with pytest.raises(ConfigError, match=r"dashboard of source fleet needs write\.forge"):
        parse_config({"sources": [{**source, "dashboard": True}]})
    forge = {"kind": "github", "repository": "acme/fleet", "token_env": "T"}
    config = parse_config(
        {
            "sources": [source, {**source, "name": "quiet", "dashboard": False}],
            "write": {"dashboard": True, "forge": forge},
        }
    )
    assert [config.dashboard_for(s) for s in config.sources] == [True, False]
    assert config.write.dashboard_title == "automator dashboard: {source}"
