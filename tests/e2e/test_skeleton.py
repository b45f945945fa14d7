"""One real image update, end to end: a real registry, a real Git remote, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry

ROOT = Path(__file__).resolve().parents[2]


def automator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "automator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(path: Path, url: str, registry: str, *, mode: str = "push") -> Path:
    path.write_text(
        f"""\
sources:
  - name: fleet
    url: {url}
    branch: main
    paths: [apps]
write:
  mode: {mode}
  commit:
    author: "automator <automator@example.test>"
registries:
  - host: {registry}
    insecure: true
state_dir: {path.parent / "state"}
"""
    )
    return path


@pytest.fixture
def fleet(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> dict[str, object]:
    """api:1.4.2, 1.4.3, 1.5.0 in the registry; a remote whose Deployment runs 1.4.2."""
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2", "1.4.3", "1.5.0"])
    image = f"{registry.host}/{repo}"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(image=image), "README.md": "# fleet\n"},
    )
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)
    return {"remote": remote, "config": config, "image": image, "cwd": tmp_path}


def commits(remote: Path) -> list[str]:
    return git("rev-list", "main", cwd=remote).split()


def test_one_update_end_to_end(fleet: dict[str, object]) -> None:
    remote, config, image, cwd = (fleet[k] for k in ("remote", "config", "image", "cwd"))
    assert isinstance(remote, Path) and isinstance(config, Path) and isinstance(cwd, Path)
    before = commits(remote)

    first = automator("run", "--once", "--config", str(config), cwd=cwd)
    assert first.returncode == 0, first.stderr
    after = commits(remote)
    assert len(after) == len(before) + 1
    diff = git("diff", "--unified=0", f"{before[0]}..main", cwd=remote)
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        f"-          image: {image}:1.4.2 # pinned by automator",
        f"+          image: {image}:1.4.3 # pinned by automator",
    ]
    subject = git("log", "-1", "--format=%s%n%an <%ae>", "main", cwd=remote).splitlines()
    assert subject == [f"Update {image} to 1.4.3", "automator <automator@example.test>"]
    assert f"{image} 1.4.2 -> 1.4.3 in apps/api.yaml" in first.stderr

    second = automator("run", "--once", "--config", str(config), cwd=cwd)
    assert second.returncode == 0, second.stderr
    assert commits(remote) == after
    assert "up to date" in second.stderr


def test_plan_prints_the_diff_and_pushes_nothing(fleet: dict[str, object]) -> None:
    remote, config, image, cwd = (fleet[k] for k in ("remote", "config", "image", "cwd"))
    assert isinstance(remote, Path) and isinstance(config, Path) and isinstance(cwd, Path)
    before = commits(remote)
    result = automator("plan", "--config", str(config), cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert f"-          image: {image}:1.4.2 # pinned by automator\n" in result.stdout
    assert f"+          image: {image}:1.4.3 # pinned by automator\n" in result.stdout
    assert result.stdout.startswith("--- a/apps/api.yaml\n+++ b/apps/api.yaml\n")
    assert commits(remote) == before


def test_dry_run_mode_pushes_nothing(fleet: dict[str, object], git_daemon: GitDaemon) -> None:
    remote, config, cwd = (fleet[k] for k in ("remote", "config", "cwd"))
    assert isinstance(remote, Path) and isinstance(config, Path) and isinstance(cwd, Path)
    before = commits(remote)
    text = config.read_text().replace("mode: push", "mode: dry-run")
    config.write_text(text)
    result = automator("run", "--once", "--config", str(config), cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "1.4.2 -> 1.4.3" in result.stderr
    assert commits(remote) == before
