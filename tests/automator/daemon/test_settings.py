"""Settings precedence, the config commands, log redaction, the deploy manifests."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from automator.config import parse_config, with_overrides
from automator.errors import ConfigError
from automator.logs import redact, register_secret, setup_logging
from automator.secrets import Secret

ROOT = Path(__file__).resolve().parents[3]
BASE = {"sources": [{"name": "fleet", "url": "git://example.test/fleet.git"}], "interval": "10m"}


def test_command_line_beats_environment_beats_file() -> None:
    config = parse_config(BASE)
    assert with_overrides(config, env={}).interval == "10m"
    env = {"AUTOMATOR_INTERVAL": "2m", "AUTOMATOR_LISTEN": "127.0.0.1:9000"}
    assert with_overrides(config, env=env).interval == "2m"
    both = with_overrides(config, env=env, cli={"interval": "30s", "listen": None})
    assert (both.interval, both.listen) == ("30s", "127.0.0.1:9000")


@pytest.mark.parametrize(
    ("env", "cli", "message"),
    [
        ({"AUTOMATOR_INTERVAL": "soon"}, {}, "AUTOMATOR_INTERVAL: 'soon' is not a duration"),
        ({"AUTOMATOR_LOG_FORMAT": "xml"}, {}, "AUTOMATOR_LOG_FORMAT: "),
        ({}, {"listen": "everywhere"}, "--listen: 'everywhere' is not an address"),
    ],
)
def test_bad_overrides_name_their_origin(
    env: dict[str, str], cli: dict[str, str | None], message: str
) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        with_overrides(parse_config(BASE), env=env, cli=cli)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "automator", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_schema_and_validate(tmp_path: Path) -> None:
    schema = json.loads(cli("config", "schema").stdout)
    assert {"webhooks", "notifications", "listen"} <= set(schema["properties"])
    config = tmp_path / "automator.yaml"
    config.write_text("sources:\n  - {name: fleet, url: git://x/y.git}\nwebhooks: {}\n")
    bad = cli("config", "validate", "--config", str(config))
    assert bad.returncode == 1
    assert "webhooks: set exactly one of secret_env or secret_file" in bad.stderr
    config.write_text("sources:\n  - {name: fleet, url: git://x/y.git}\n")
    assert cli("config", "validate", "--config", str(config)).returncode == 0
    env = cli("config", "validate", "--config", str(config), env={"AUTOMATOR_INTERVAL": "x"})
    assert env.returncode == 1
    assert "AUTOMATOR_INTERVAL: 'x' is not a duration" in env.stderr


def test_secrets_never_reach_a_log_line() -> None:
    register_secret(Secret("tok-5f8a9c1e"))
    stream = io.StringIO()
    handler = setup_logging("json", stream=stream)
    log = logging.getLogger("automator.test")
    try:
        log_two_lines(log)
    finally:
        logging.getLogger("automator").removeHandler(handler)
        logging.getLogger("automator").propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "pushing with *** to https://***@git.example/x.git"
    assert lines[1]["message"] == "failed at https://hooks.example/x?token=***&y=1"
    assert "tok-5f8a9c1e" not in stream.getvalue()
    assert "RuntimeError: token *** refused" in lines[1]["error"]
    assert redact("plain words") == "plain words"


def log_two_lines(log: logging.Logger) -> None:
    log.error("pushing with %s to %s", "tok-5f8a9c1e", "https://bot:pw123@git.example/x.git")
    try:
        raise RuntimeError("token tok-5f8a9c1e refused")
    except RuntimeError:
        log.exception("failed at https://hooks.example/x?token=abc&y=1")


def test_deploy_manifests_parse_and_carry_a_valid_config() -> None:
    yaml = YAML(typ="safe", pure=True)
    kinds = set()
    for path in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        kinds |= {doc["kind"] for doc in yaml.load_all(path.read_text()) if doc}
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap", "Secret"} <= kinds
    configmap = yaml.load((ROOT / "deploy" / "kubernetes" / "configmap.yaml").read_text())
    config = parse_config(yaml.load(configmap["data"]["automator.yaml"]))
    assert config.webhooks is not None and config.listen == ":8080"
