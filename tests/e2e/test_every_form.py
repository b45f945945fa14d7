"""Every way to put an image under a policy, through the real CLI, registry and remote:
workload annotations, inline markers on Helm values and kustomize images, Flux v1
annotations and Flux v2 $imagepolicy markers. The diff is exactly the changed values."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, commits, write_config

FILES = {
    "apps/api.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy: "semver:^1"
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: '{reg}/{api}:1.0.0'
      containers:
      - name: api
        image: "{reg}/{api}:1.0.0"   # both containers follow ^1
""",
    "apps/values.yaml": """\
# Helm values
image:
  registry: {reg}
  repository: {web}
  tag: 2.0.0 # automator: semver:~2.0
replicas: 2
""",
    "apps/kustomization.yaml": """\
resources: [api.yaml]
images:
  - name: web
    newName: {reg}/{web}
    newTag: "2.0.0"  # automator: semver:~2.0
""",
    "apps/legacy.yaml": """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: legacy
  annotations:
    fluxcd.io/automated: "true"
    fluxcd.io/tag.agent: semver:~1.0
spec:
  template:
    spec:
      containers:
        - name: agent
          image: {reg}/{api}:1.0.0
""",
    "apps/flux.yaml": """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: web, namespace: flux-system}}
spec:
  image: {reg}/{web}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: web, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: web}}
  policy:
    semver: {{range: ">=2.0.0 <3.0.0"}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  containers:
    - name: web
      image: {reg}/{web}:2.0.0 # {{"$imagepolicy": "flux-system:web"}}
""",
}


def test_every_form_is_updated_byte_exactly(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    api, web = f"acme/api-{suffix}", f"acme/web-{suffix}"
    pusher.tag(api, ["1.0.0", "1.0.1", "1.2.0", "2.0.0"])
    pusher.tag(web, ["2.0.0", "2.0.3", "2.1.0", "3.0.0"])
    files = {name: text.format(reg=registry.host, api=api, web=web) for name, text in FILES.items()}
    remote = make_bare_repo(git_daemon.base / "fleet.git", files)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)
    before = commits(remote)

    checked = automator("check", "--config", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "SKIPPED" not in checked.stdout, checked.stdout
    assert checked.stdout.count("\n") == 6, checked.stdout

    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(commits(remote)) == len(before) + 1
    expected = {
        name: text.replace(f"{api}:1.0.0", f"{api}:1.2.0")
        for name, text in files.items()
        if name != "apps/legacy.yaml"
    }
    expected["apps/legacy.yaml"] = files["apps/legacy.yaml"].replace(f"{api}:1.0.0", f"{api}:1.0.1")
    expected["apps/values.yaml"] = files["apps/values.yaml"].replace("tag: 2.0.0", "tag: 2.0.3")
    expected["apps/kustomization.yaml"] = files["apps/kustomization.yaml"].replace(
        'newTag: "2.0.0"', 'newTag: "2.0.3"'
    )
    expected["apps/flux.yaml"] = files["apps/flux.yaml"].replace(f"{web}:2.0.0", f"{web}:2.1.0")
    for name, text in expected.items():
        assert git("show", f"main:{name}", cwd=remote) == text, name

    again = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(commits(remote)) == len(before) + 1
