"""The container image, built with podman from the Dockerfile and run the way Kubernetes runs it.

The smoke run reconciles a real registry and a real git daemon as UID 10001, with a read-only
root, /tmp and the state dir as tmpfs, no capabilities; it serves /healthz on the address
the user's automator.yaml names (no image variable overrides it), and stops on SIGTERM
within the grace period.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testing import MissingServer, free_port
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "scripts" / "podman" / "containers.conf")}
TAG = "localhost/automator:test"


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, env=ENV, check=check, timeout=timeout
    )


@pytest.fixture(scope="session")
def image() -> str:
    for tool, package in (("podman", "podman buildah runc uidmap"), ("mmdebstrap", "mmdebstrap")):
        if shutil.which(tool) is None:
            need(MissingServer(f"{tool} not found; apt-get install {package}"))
    built = subprocess.run(
        [str(ROOT / "scripts" / "image"), TAG],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    return TAG


@pytest.fixture
def container(image: str) -> Iterator[str]:
    name = f"automator-smoke-{uuid.uuid4().hex[:8]}"
    yield name
    podman("rm", "--force", "--time", "0", name, check=False)


def test_image_layout(image: str) -> None:
    user = podman("run", "--rm", "--entrypoint", "id", image).stdout.split()
    assert user[:2] == ["uid=10001(automator)", "gid=10001(automator)"]
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    assert "/wheels" not in history  # no wheel directory left behind in a layer
    config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
    assert not [v for v in config.get("Env", []) if v.startswith("AUTOMATOR_")]
    version = podman("run", "--rm", image, "--version").stdout
    assert version.startswith("automator")


def test_image_reconciles_read_only_as_10001_and_stops_on_sigterm(
    container: str,
    image: str,
    registry: Registry,
    pusher: Pusher,
    git_daemon: GitDaemon,
    tmp_path: Path,
) -> None:
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2", "1.4.3", "1.5.0"])
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {"apps/api.yaml": DEPLOYMENT.format(image=f"{registry.host}/{repo}")},
    )
    before = git("rev-parse", "main", cwd=remote)
    port = free_port()
    etc = tmp_path / "etc"
    etc.mkdir(mode=0o755)
    etc.chmod(0o755)  # read by UID 10001 inside
    (etc / "automator.yaml").write_text(
        f"""\
sources:
  - name: fleet
    url: {git_daemon.url("fleet.git")}
    paths: [apps]
write:
  commit:
    author: "automator <automator@example.test>"
registries:
  - host: {registry.host}
    insecure: true
listen: 127.0.0.1:{port}
interval: 1h
"""
    )
    podman(
        "run",
        "--detach",
        "--name",
        container,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var/lib/automator:U",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--volume",
        f"{etc}:/etc/automator:ro",
        image,
    )
    # the user's listen: address is the one served
    wait_for(lambda: get(f"http://127.0.0.1:{port}/healthz") == 200, container)
    wait_for(lambda: git("rev-parse", "main", cwd=remote) != before, container)
    assert f"{repo}:1.4.3" in git("show", "main:apps/api.yaml", cwd=remote)

    top = podman("top", container, "huser", "hgroup", "pid", "args").stdout.splitlines()[1:]
    first = [line.split() for line in top if line.split()[2] == "1"]
    assert first and first[0][:2] == ["10001", "10001"], top
    assert "automator" in " ".join(first[0][3:])

    podman("stop", "--time", "25", container)  # SIGTERM, then SIGKILL after 25 s
    state = json.loads(podman("inspect", container).stdout)[0]["State"]
    assert state["ExitCode"] == 0, podman("logs", container).stderr[-2000:]  # not 137: no SIGKILL


def get(url: str) -> int:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return 0


def wait_for(condition: object, container: str, timeout: float = 90) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        running = podman("inspect", "--format", "{{.State.Running}}", container, check=False)
        if running.stdout.strip() == "false":
            break
        time.sleep(0.5)
    logs = podman("logs", container, check=False)
    raise AssertionError(f"condition not met; container log: {(logs.stdout + logs.stderr)[-3000:]}")
