"""Bad input: one clear line on stderr, a non-zero exit, and nothing written."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing import free_port
from testing.gitserver import GitDaemon, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import DEPLOYMENT, automator, commits, write_config


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "expected an error on stderr"
    return lines[-1]


def test_missing_config_file(tmp_path: Path) -> None:
    result = automator("run", "--once", "--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"automator: error: {tmp_path / 'nope.yaml'}: no such file;"
        " pass --config with the path to automator.yaml"
    )


def test_malformed_config_file(tmp_path: Path) -> None:
    config = tmp_path / "automator.yaml"
    config.write_text("sources:\n  - name: fleet\n    url: [unclosed\n")
    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    line = error_line(result.stderr)
    assert line.startswith(f"automator: error: {config}: not valid YAML at line")
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "automator.yaml"
    config.write_text("sources:\n  - name: fleet\n    branch: main\n")
    result = automator("plan", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"automator: error: {config}: sources[0].url: required; add it"


def test_unreachable_registry_writes_nothing(tmp_path: Path, git_daemon: GitDaemon) -> None:
    dead = f"127.0.0.1:{free_port()}"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(image=f"{dead}/acme/api")},
    )
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), dead)
    before = commits(remote)
    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert f"cannot reach {dead}" in result.stderr
    assert commits(remote) == before


def test_unreachable_git_remote(tmp_path: Path, registry: Registry, pusher: Pusher) -> None:
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2", "1.4.3"])
    url = f"git://127.0.0.1:{free_port()}/fleet.git"
    config = write_config(tmp_path / "automator.yaml", url, registry.host)
    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    line = error_line(result.stderr)
    assert f"{url}: fetch failed" in line
    assert "check the URL" in line
