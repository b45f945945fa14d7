"""A rotated registry password reaches a running daemon: Kubernetes replaces the
mounted Secret by swapping its ``..data`` symlink, and the next cycle reads it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import requests

from testing import free_port
from testing.daemon import SECRET
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, htpasswd_config
from tests.automator.daemon.test_run_daemon import start, stop, wait_for
from tests.e2e.test_clouds import basic_registry
from tests.e2e.test_skeleton import commits

USER = "robot"


def mount_secret(mount: Path, password: str) -> None:
    """Write ``password`` as kubelet does: a new timestamped directory, then an atomic
    swap of ``..data`` to it; ``password`` itself links through ``..data``."""
    version = mount / f"..{uuid.uuid4().hex[:12]}"
    version.mkdir(parents=True)
    (version / "password").write_text(password)
    old = os.readlink(mount / "..data") if (mount / "..data").is_symlink() else None
    (mount / "..data_tmp").symlink_to(version.name)
    os.replace(mount / "..data_tmp", mount / "..data")
    if not (mount / "password").is_symlink():
        (mount / "password").symlink_to("..data/password")
    if old is not None:
        for child in (mount / old).iterdir():
            child.unlink()
        (mount / old).rmdir()


def test_a_rotated_password_file_is_read_without_a_restart(
    tmp_path: Path, git_daemon: GitDaemon
) -> None:
    first, second = "pw-one-" + uuid.uuid4().hex, "pw-two-" + uuid.uuid4().hex
    workdir = tmp_path / "registry"
    with basic_registry(workdir, USER, first) as registry:
        session = requests.Session()
        session.auth = (USER, first)
        Pusher(registry.url, session).tag("acme/api", ["1.4.2"])
        image = f"{registry.host}/acme/api"
        remote = make_bare_repo(
            git_daemon.base / "fleet.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
        )
        mount = tmp_path / "secret"
        mount_secret(mount, first)
        port = free_port()
        config = tmp_path / "automator.yaml"
        config.write_text(
            f"""\
sources:
  - name: fleet
    url: {git_daemon.url("fleet.git")}
    paths: [apps]
registries:
  - host: {registry.host}
    insecure: true
    username: {USER}
    password_file: {mount / "password"}
interval: 1h
listen: 127.0.0.1:{port}
state_dir: {tmp_path / "state"}
webhooks:
  secret_env: HOOK_SECRET
"""
        )
        url = f"http://127.0.0.1:{port}"
        proc = start(config, tmp_path)
        try:
            wait_for(lambda: requests.get(url + "/readyz", timeout=1).ok, "the first scan")
            assert len(commits(remote)) == 1  # 1.4.2 is the newest

            htpasswd_config(workdir, {USER: second})  # the registry reloads it
            assert requests.get(registry.url + "/v2/", auth=(USER, first)).status_code == 401
            mount_secret(mount, second)
            session.auth = (USER, second)
            Pusher(registry.url, session).tag("acme/api", ["1.4.3"])

            hook = f"{url}/webhook/generic?token={SECRET}"
            body = {"image": image, "tag": "1.4.3"}
            assert requests.post(hook, json=body, timeout=5).status_code == 202
            wait_for(lambda: len(commits(remote)) == 2, "the commit for 1.4.3")
        finally:
            assert stop(proc) == 0
    text = git("show", "main:apps/api.yaml", cwd=remote)
    assert f"image: {image}:1.4.3 # pinned by automator" in text
    log = (tmp_path / "daemon.log").read_text()
    assert first not in log and second not in log
