"""A Flux layout repo, followed as its ImageUpdateAutomation says: real git daemon,
real registry, a config with only the Git URL and the registry. The result is the
commit Flux would make: on the automation's push branch, message from its template."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, commits

# The message template of the Flux image-update guide (fluxcd.io/flux/guides/image-update).
TEMPLATE = """\
Automated image update

Automation name: {{ .AutomationObject }}

Files:
{{ range $filename, $_ := .Changed.FileChanges -}}
- {{ $filename }}
{{ end -}}

Objects:
{{ range $resource, $changes := .Changed.Objects -}}
- {{ $resource.Kind }} {{ $resource.Name }}
  Changes:
{{- range $_, $change := $changes }}
    - {{ $change.OldValue }} -> {{ $change.NewValue }}
{{ end -}}
{{ end -}}
"""

FILES = {
    "clusters/prod/flux-system/gotk-sync.yaml": """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m0s
  ref:
    branch: main
  url: ssh://git@example.test/fleet
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 10m0s
  path: ./clusters/prod
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
""",
    "clusters/prod/flux-system/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gotk-sync.yaml
""",
    "apps/image-automation.yaml": """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: |
{template}
    push:
      branch: image-updates
  update:
    path: ./apps
    strategy: Setters
""",
    "apps/podinfo/images.yaml": """\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: api
  namespace: flux-system
spec:
  image: {reg}/{api}
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: api
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: api
  policy:
    semver:
      range: 1.x
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: web
  namespace: flux-system
spec:
  image: {reg}/{web}
  interval: 5m
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: web
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: web
  policy:
    alphabetical:
      order: asc
""",
    "apps/podinfo/kustomization.yaml": """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- deployment.yaml
images:
- name: api
  newName: api # {{"$imagepolicy": "flux-system:api:name"}}
  newTag: 1.0.0 # {{"$imagepolicy": "flux-system:api:tag"}}
""",
    "apps/podinfo/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: podinfo
spec:
  template:
    spec:
      containers:
      - name: web
        image: web:2024-01-01 # {{"$imagepolicy": "flux-system:web"}}
      - name: api
        image: api
""",
}


MISSING = "kind: ImageRepository\nmetadata:\n  name: elsewhere"


def layout(registry: Registry, api: str, web: str, template: str = TEMPLATE) -> dict[str, str]:
    indented = "\n".join(f"        {line}" if line else "" for line in template.splitlines())
    return {
        name: text.format(reg=registry.host, api=api, web=web, template=indented)
        for name, text in FILES.items()
    }


def follow_config(path: Path, url: str, registry: str) -> Path:
    path.write_text(
        f"""\
sources:
  - name: fleet
    url: {url}
    follow: ImageUpdateAutomation
registries:
  - host: {registry}
    insecure: true
state_dir: {path.parent / "state"}
"""
    )
    return path


def test_the_commit_flux_would_make_on_the_push_branch(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    api, web = f"flux/api-{suffix}", f"flux/web-{suffix}"
    pusher.tag(api, ["1.0.0", "1.2.0", "2.0.0"])
    pusher.tag(web, ["2024-01-01", "2024-03-01"])
    files = layout(registry, api, web)
    remote = make_bare_repo(git_daemon.base / "fleet.git", files)
    config = follow_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)
    main = commits(remote)

    checked = automator("check", "--config", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count("(imagepolicy)") == 3, checked.stdout
    planned = automator("plan", "--config", str(config), cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert f"+        image: {registry.host}/{web}:2024-03-01 #" in planned.stdout
    assert "+  newTag: 1.2.0 #" in planned.stdout
    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert commits(remote) == main  # Flux pushes to the automation's push branch only
    assert git("rev-parse", "image-updates^", cwd=remote).strip() == main[0]
    expected = dict(files)
    expected["apps/podinfo/kustomization.yaml"] = (
        files["apps/podinfo/kustomization.yaml"]
        .replace("newName: api #", f"newName: {registry.host}/{api} #")
        .replace("newTag: 1.0.0", "newTag: 1.2.0")
    )
    expected["apps/podinfo/deployment.yaml"] = files["apps/podinfo/deployment.yaml"].replace(
        "image: web:2024-01-01", f"image: {registry.host}/{web}:2024-03-01"
    )
    for name, text in expected.items():
        assert git("show", f"image-updates:{name}", cwd=remote) == text, name
    author = git("log", "-1", "--format=%an <%ae>", "image-updates", cwd=remote).strip()
    assert author == "fluxcdbot <fluxcdbot@users.noreply.github.com>"
    message = git("log", "-1", "--format=%B", "image-updates", cwd=remote)
    assert message.rstrip("\n") == (
        "Automated image update\n"
        "\n"
        "Automation name: flux-system/apps\n"
        "\n"
        "Files:\n"
        "- podinfo/deployment.yaml\n"
        "- podinfo/kustomization.yaml\n"
        "Objects:\n"  # '{{ end -}}' eats the blank line, in Go too
        "- Deployment web\n"
        "  Changes:\n"
        f"    - web:2024-01-01 -> {registry.host}/{web}:2024-03-01\n"
        "- Kustomization \n"
        "  Changes:\n"
        f"    - api -> {registry.host}/{api}\n"
        "\n"
        "    - 1.0.0 -> 1.2.0"
    )

    again = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert git("rev-parse", "image-updates^", cwd=remote).strip() == main[0]


def test_bad_automation_input_is_refused_and_nothing_is_written(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    api, web = f"flux/api-{suffix}", f"flux/web-{suffix}"
    pusher.tag(api, ["1.0.0", "1.2.0"])
    cases = {
        "template": (
            layout(registry, api, web, "Update {{ .AutomationObject | sha256sum }}"),
            "ImageUpdateAutomation flux-system/apps: messageTemplate:"
            ' template: commit message:1:31: function \\"sha256sum\\" not supported',
        ),
        "repository": (
            {
                **layout(registry, api, web),
                "apps/podinfo/images.yaml": layout(registry, api, web)[
                    "apps/podinfo/images.yaml"
                ].replace("kind: ImageRepository\nmetadata:\n  name: web", MISSING),
            },
            "ImageUpdateAutomation flux-system/apps: ImagePolicy"
            " flux-system/web names ImageRepository flux-system/web, which is not in the repo;"
            " add it or fix spec.imageRepositoryRef",
        ),
    }
    for case, (files, line) in cases.items():
        remote = make_bare_repo(git_daemon.base / f"{case}-{suffix}.git", files)
        config = follow_config(
            tmp_path / f"{case}.yaml", git_daemon.url(f"{case}-{suffix}.git"), registry.host
        )
        before = git("for-each-ref", cwd=remote)
        result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
        assert result.returncode == 1, (case, result.stderr)
        assert line in result.stderr, (case, result.stderr)
        assert git("for-each-ref", cwd=remote) == before, case


def test_selector_existing_push_branch_and_refspec(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    """Only the selected ImagePolicy is written; the existing push branch is built on;
    the refspec's branch gets the same commit."""
    suffix = uuid.uuid4().hex[:8]
    api, web = f"flux/api-{suffix}", f"flux/web-{suffix}"
    pusher.tag(api, ["1.0.0", "1.2.0"])
    pusher.tag(web, ["2024-01-01", "2024-03-01"])
    files = layout(registry, api, web)
    refspec = "      branch: image-updates\n      refspec: HEAD:refs/heads/review"
    selector = "  policySelector:\n    matchLabels: {app: api}\n  update:"
    files["apps/image-automation.yaml"] = (
        files["apps/image-automation.yaml"]
        .replace("      branch: image-updates", refspec)
        .replace("  update:", selector)
    )
    files["apps/podinfo/images.yaml"] = files["apps/podinfo/images.yaml"].replace(
        "  name: api\n  namespace: flux-system\nspec:\n  imageRepositoryRef",
        "  name: api\n  namespace: flux-system\n  labels: {app: api}\nspec:\n  imageRepositoryRef",
    )
    remote = make_bare_repo(git_daemon.base / "fleet.git", files)
    work = tmp_path / "work"
    git("clone", "-q", str(remote), str(work))
    git("checkout", "-q", "-b", "image-updates", cwd=work)
    (work / "NOTES.md").write_text("reviewed\n")
    git("add", "NOTES.md", cwd=work)
    git("commit", "-q", "-m", "notes", cwd=work)
    git("push", "-q", "origin", "image-updates", cwd=work)
    pushed = git("rev-parse", "image-updates", cwd=remote).strip()
    config = follow_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)

    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    tip = git("rev-parse", "image-updates", cwd=remote).strip()
    assert git("rev-parse", "image-updates^", cwd=remote).strip() == pushed
    assert git("rev-parse", "review", cwd=remote).strip() == tip
    assert git("show", "image-updates:NOTES.md", cwd=remote) == "reviewed\n"
    kustomization = git("show", "image-updates:apps/podinfo/kustomization.yaml", cwd=remote)
    assert "newTag: 1.2.0" in kustomization
    deployment = git("show", "image-updates:apps/podinfo/deployment.yaml", cwd=remote)
    assert deployment == files["apps/podinfo/deployment.yaml"]  # web is not selected
