"""Argo CD Image Updater, end to end: an app-of-apps repo behind the real git daemon,
tags in the real registry, ``automator run --once``, no automator annotation anywhere.
Kustomize and Helm apps, every write-back target: kustomization, helmvalues, and the
default override file in both of Argo's formats."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, commits

P = "argocd-image-updater.argoproj.io"


def app(name: str, path: str, url: str, annotations: str) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
  annotations:
{annotations}spec:
  project: default
  source:
    repoURL: {url}
    targetRevision: main
    path: {path}
  destination: {{server: "https://kubernetes.default.svc", namespace: {name}}}
"""


def config(tmp_path: Path, url: str, registry: str) -> Path:
    path = tmp_path / "automator.yaml"
    path.write_text(
        f"sources:\n  - name: fleet\n    url: {url}\n"
        'write:\n  mode: push\n  commit:\n    author: "automator <automator@example.test>"\n'
        f"registries:\n  - host: {registry}\n    insecure: true\nstate_dir: {tmp_path / 'state'}\n"
    )
    return path


def test_app_of_apps_every_write_back_target(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    web, api, side = (f"{registry.host}/acme/{n}-{suffix}" for n in ("web", "api", "side"))
    pusher.tag(web.split("/", 1)[1], ["1.0.0", "1.0.1", "1.1.0"])
    pusher.tag(api.split("/", 1)[1], ["2.0.0", "2.0.4", "3.0.0"])
    pusher.tag(side.split("/", 1)[1], ["0.1.0", "0.2.0"])
    url = git_daemon.url("fleet.git")
    files = {
        "root.yaml": app("root", "apps", url, ""),
        "apps/web.yaml": app("web", "web", url, (
            f'    {P}/image-list: "web={web}:~1.0"\n'
            f"    {P}/write-back-method: git\n"
            f"    {P}/write-back-target: kustomization\n"
        )),
        "apps/api.yaml": app("api", "api", url, (
            f'    {P}/image-list: "api={api}:2.x, side={side}"\n'
            f"    {P}/api.helm.image-name: image.repository\n"
            f"    {P}/write-back-method: git\n"
            f"    {P}/write-back-target: helmvalues:values.yaml\n"
        )),
        "apps/side.yaml": app("side", "web", url, (
            f'    {P}/image-list: "side={side}"\n'
            f"    {P}/side.update-strategy: alphabetical\n"
            f"    {P}/side.force-update: \"true\"\n"
            f"    {P}/write-back-method: git\n"
        )),
        "apps/canary.yaml": app("canary", "api", url, (
            f'    {P}/image-list: "api={api}:>=2"\n'
            f"    {P}/write-back-method: git\n"
        )),
        "web/kustomization.yaml": (
            f"resources: [deploy.yaml]\nimages:\n- name: {web}\n  newTag: 1.0.0 # Argo sets this\n"
        ),
        "web/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
        "api/Chart.yaml": "apiVersion: v2\nname: api\nversion: 0.1.0\n",
        "api/values.yaml": (
            f"# values\nimage:\n  repository: {api}\n  tag: \"2.0.0\"\n"
            f"side:\n  image:\n    name: {side}\n    tag: 0.1.0   # sidecar\n"
        ),
    }  # fmt: skip
    files["apps/api.yaml"] = files["apps/api.yaml"].replace(
        "  annotations:\n",
        f"  annotations:\n    {P}/side.helm.image-name: side.image.name\n"
        f"    {P}/side.helm.image-tag: side.image.tag\n",
    )
    remote = make_bare_repo(git_daemon.base / "fleet.git", files)
    cfg = config(tmp_path, url, registry.host)
    before = commits(remote)
    assert "automator" not in "".join(files.values())

    checked = automator("check", "--config", str(cfg), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "SKIPPED" not in checked.stdout and checked.stdout.count("(argocd)") == 5, checked.stdout

    result = automator("run", "--once", "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(commits(remote)) == len(before) + 1
    expected = dict(files)
    expected["web/kustomization.yaml"] = files["web/kustomization.yaml"].replace("1.0.0", "1.0.1")
    expected["api/values.yaml"] = (
        files["api/values.yaml"].replace('"2.0.0"', '"2.0.4"').replace("0.1.0", "0.2.0")
    )
    expected["web/.argocd-source-side.yaml"] = f"kustomize:\n  images:\n  - {side}:0.2.0\n"
    expected["api/.argocd-source-canary.yaml"] = (
        f"helm:\n  parameters:\n  - name: image.name\n    value: {api}\n    forcestring: true\n"
        "  - name: image.tag\n    value: 3.0.0\n    forcestring: true\n"
    )
    for name, text in expected.items():
        assert git("show", f"main:{name}", cwd=remote) == text, name

    again = automator("run", "--once", "--config", str(cfg), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(commits(remote)) == len(before) + 1


def test_unknown_strategy_and_malformed_alias_are_refused(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    web = f"{registry.host}/acme/web-{uuid.uuid4().hex[:8]}"
    pusher.tag(web.split("/", 1)[1], ["1.0.0", "1.0.1"])
    target = f"    {P}/write-back-method: git\n    {P}/write-back-target: kustomization\n"
    for settings, reason in (
        (f'    {P}/image-list: "w={web}"\n    {P}/w.update-strategy: newest\n',
         "update-strategy 'newest' is not one of"),
        (f'    {P}/image-list: "w!={web}"\n', "alias 'w!' is malformed"),
    ):  # fmt: skip
        name = f"fleet-{uuid.uuid4().hex[:6]}.git"
        files = {
            "apps/web.yaml": app("web", "web", git_daemon.url(name), settings + target),
            "web/kustomization.yaml": f"images:\n- name: {web}\n  newTag: 1.0.0\n",
        }
        remote = make_bare_repo(git_daemon.base / name, files)
        cfg = config(tmp_path, git_daemon.url(name), registry.host)
        before = commits(remote)
        result = automator("run", "--once", "--config", str(cfg), cwd=tmp_path)
        assert result.returncode != 0, result.stdout
        errors = [line for line in result.stderr.splitlines() if '"level": "error"' in line]
        assert len(errors) == 1, result.stderr
        assert reason in errors[0] and "apps/web.yaml:1: Application web" in errors[0]
        assert commits(remote) == before
