"""Flux chart versions end to end: nginx Helm repositories, OCI charts in the real registry
(Helm's media types), a real remote, the CLI.

One repository is public over plain HTTP, the other private over HTTPS (Basic auth, the
test CA as ca_bundle); both hosts are listed under ``registries:``. One ``run --once``
moves each governed version in one commit, byte-exactly; the second run is idle and
reads each index with a 304.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from automator.charts.lock import lock_digest
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.helmrepo import PASSWORD, USER, Chart, HelmRepoServer, push_chart, write_index
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, commits, write_config

SOURCES = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: public
  namespace: flux-system
spec:
  interval: 10m
  url: {public}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: private
  namespace: flux-system
spec:
  url: {private}
  secretRef: {{name: charts-auth}}
"""
RELEASES = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
  annotations:
    automator.dev/policy.chart: "semver:^1"   # the chart's minors
spec:
  interval: 10m
  chart:
    spec:
      chart: web
      version: "1.0.0"
      sourceRef:
        kind: HelmRepository
        name: public
        namespace: flux-system
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
  namespace: apps
spec:
  chart:
    spec:
      chart: api
      version: 0.3.1 # automator: semver:~0.3
      sourceRef: {{kind: HelmRepository, name: private, namespace: flux-system}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ranged
  namespace: apps
spec:
  chart:
    spec:
      chart: web
      version: ">=1.0.0" # automator: semver:*
      sourceRef: {{kind: HelmRepository, name: public, namespace: flux-system}}
"""


def test_helm_release_versions_move(
    tmp_path: Path, helm_repo: HelmRepoServer, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    public, private = f"public-{suffix}", f"private/charts-{suffix}"
    web = [Chart("web", v) for v in ("1.0.0", "1.0.1", "1.4.0", "2.0.0")]
    write_index(helm_repo.root / public, web)
    api = [Chart("api", v) for v in ("0.3.1", "0.3.2", "0.4.0")]
    write_index(helm_repo.root / private, api)
    sources = SOURCES.format(public=helm_repo.url(public), private=helm_repo.tls_url(private))
    remote = make_bare_repo(
        git_daemon.base / "charts.git",
        {"flux/sources.yaml": sources, "apps/releases.yaml": RELEASES.format()},
    )
    (tmp_path / "password").write_text(PASSWORD + "\n")
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"""\
sources:
  - name: fleet
    url: {git_daemon.url("charts.git")}
    branch: main
    paths: [apps]
write:
  mode: push
  commit:
    author: "automator <automator@example.test>"
registries:
  - host: {helm_repo.host}
    insecure: true
  - host: {helm_repo.tls_host}
    username: {USER}
    password_file: {tmp_path / "password"}
    ca_bundle: {helm_repo.ca_file}
state_dir: {tmp_path / "state"}
"""
    )
    before = commits(remote)
    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(commits(remote)) == len(before) + 1
    expected = (
        RELEASES.format()
        .replace('version: "1.0.0"', 'version: "1.4.0"')
        .replace("version: 0.3.1 #", "version: 0.3.2 #")
    )
    assert git("show", "main:apps/releases.yaml", cwd=remote) == expected
    assert git("show", "main:flux/sources.yaml", cwd=remote) == sources
    assert "1.0.0 -> 1.4.0 in apps/releases.yaml" in first.stderr
    assert PASSWORD not in first.stderr + first.stdout
    assert "HelmRelease apps/ranged: version '>=1.0.0' is a range, which Flux" in first.stderr
    assert "marker is not on the same line" not in first.stderr

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(commits(remote)) == len(before) + 1, "the second run is idle"
    assert helm_repo.statuses(f"{public}/index.yaml")[-1] == 304
    assert helm_repo.statuses(f"{private}/index.yaml")[-1] == 304


def test_an_unlisted_chart_host_is_never_asked(
    tmp_path: Path, helm_repo: HelmRepoServer, git_daemon: GitDaemon
) -> None:
    public = f"public-{uuid.uuid4().hex[:8]}"
    write_index(helm_repo.root / public, [Chart("web", "1.0.0"), Chart("web", "1.1.0")])
    sources = SOURCES.format(public=helm_repo.url(public), private=helm_repo.url("none"))
    files = {"flux/sources.yaml": sources, "apps/releases.yaml": RELEASES.format()}
    remote = make_bare_repo(git_daemon.base / "charts.git", files)
    config = tmp_path / "automator.yaml"
    config.write_text(
        f"""\
sources:
  - name: fleet
    url: {git_daemon.url("charts.git")}
    branch: main
    paths: [apps]
write: {{mode: push, commit: {{author: "automator <automator@example.test>"}}}}
state_dir: {tmp_path / "state"}
"""
    )
    before = commits(remote)
    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert f"Helm repository host {helm_repo.host} is not listed under registries:" in (
        result.stderr
    )
    assert commits(remote) == before
    assert helm_repo.statuses(f"{public}/index.yaml") == []


OCI = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: oci-charts
  namespace: flux-system
spec:
  type: oci
  url: oci://{reg}/{charts}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0 # automator: semver:^1
      sourceRef: {{kind: HelmRepository, name: oci-charts, namespace: flux-system}}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: web-chart
  namespace: apps
  annotations:
    automator.dev/policy: "semver:~1.0"
spec:
  url: oci://{reg}/{charts}/web
  ref:
    tag: "1.0.0"
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: by-ref
  namespace: apps
  annotations:
    automator.dev/policy: "semver:*"
spec:
  chartRef: {{kind: OCIRepository, name: web-chart}}
"""


def test_oci_chart_versions_move(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    charts = f"charts-{uuid.uuid4().hex[:8]}"
    for version in ("1.0.0", "1.0.3", "1.2.0", "2.0.0"):
        push_chart(pusher, f"{charts}/web", Chart("web", version), tmp_path / "build")
    text = OCI.format(reg=registry.host, charts=charts)
    remote = make_bare_repo(git_daemon.base / "oci.git", {"apps/oci.yaml": text})
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("oci.git"), registry.host)
    before = commits(remote)
    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(commits(remote)) == len(before) + 1
    expected = text.replace("version: 1.0.0 #", "version: 1.2.0 #").replace(
        'tag: "1.0.0"', 'tag: "1.0.3"'
    )
    assert git("show", "main:apps/oci.yaml", cwd=remote) == expected
    assert "HelmRelease apps/by-ref: spec.chartRef names an OCIRepository" in first.stderr

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(commits(remote)) == len(before) + 1, "the second run is idle"


ARGO = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: multi
  namespace: argocd
  annotations:
    automator.dev/policy.chart: "semver:^1"
spec:
  project: default
  sources:
    - repoURL: {public}
      chart: web
      targetRevision: 1.0.0
    - repoURL: {reg}/{charts}
      chart: api
      targetRevision: 0.3.1 # automator: semver:~0.3
    - repoURL: https://github.com/acme/config.git
      path: envs/prod
      targetRevision: main
  destination: {{server: "https://kubernetes.default.svc", namespace: apps}}
"""
KUSTOMIZATION = """\
resources: []
helmCharts:
  - name: web
    repo: {public}
    version: 1.0.0  # automator: semver:~1.0
    releaseName: web
  - name: api
    repo: oci://{reg}/{charts}
    version: "0.3.1"  # automator: semver:*
"""


def test_argo_and_kustomize_chart_versions_move(
    tmp_path: Path,
    helm_repo: HelmRepoServer,
    registry: Registry,
    pusher: Pusher,
    git_daemon: GitDaemon,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    public, charts = f"argo-{suffix}", f"charts-{suffix}"
    write_index(helm_repo.root / public, [Chart("web", v) for v in ("1.0.0", "1.0.2", "1.3.0")])
    for version in ("0.3.1", "0.3.4", "0.4.0"):
        push_chart(pusher, f"{charts}/api", Chart("api", version), tmp_path / "build")
    fill = {"public": helm_repo.url(public), "reg": registry.host, "charts": charts}
    files = {
        "apps/app.yaml": ARGO.format(**fill),
        "apps/kustomization.yaml": KUSTOMIZATION.format(**fill),
    }
    remote = make_bare_repo(git_daemon.base / "argo.git", files)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("argo.git"), registry.host)
    config.write_text(
        config.read_text().replace(
            "registries:\n", f"registries:\n  - host: {helm_repo.host}\n    insecure: true\n"
        )
    )
    before = commits(remote)
    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(commits(remote)) == len(before) + 1, "one commit for both files"
    app = files["apps/app.yaml"].replace("targetRevision: 1.0.0", "targetRevision: 1.3.0")
    app = app.replace("targetRevision: 0.3.1 #", "targetRevision: 0.3.4 #")
    assert git("show", "main:apps/app.yaml", cwd=remote) == app
    kustomization = files["apps/kustomization.yaml"].replace("version: 1.0.0 ", "version: 1.0.2 ")
    kustomization = kustomization.replace('version: "0.3.1"', 'version: "0.4.0"')
    assert git("show", "main:apps/kustomization.yaml", cwd=remote) == kustomization

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(commits(remote)) == len(before) + 1, "the second run is idle"


UMBRELLA = """\
apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: web
    version: "1.0.0"  # automator: semver:^1
    repository: {public}
    condition: web.enabled
  - name: pinned
    version: 2.0.0
    repository: {public}
"""
LOCKFILE = """\
dependencies:
- name: web
  repository: {public}
  version: 1.0.0
- name: pinned
  repository: {public}
  version: 2.0.0
digest: {digest}
generated: "2024-01-02T03:04:05.000000Z"
"""


def test_chart_yaml_dependency_and_its_lock_move_together(
    tmp_path: Path, helm_repo: HelmRepoServer, git_daemon: GitDaemon
) -> None:
    public = f"deps-{uuid.uuid4().hex[:8]}"
    write_index(helm_repo.root / public, [Chart("web", v) for v in ("1.0.0", "1.1.0", "2.0.0")])
    url = helm_repo.url(public)
    web = {"name": "web", "version": "1.0.0", "repository": url}
    pinned = {"name": "pinned", "version": "2.0.0", "repository": url}
    digest = lock_digest([{**web, "condition": "web.enabled"}, pinned], [web, pinned])
    files = {
        "charts/umbrella/Chart.yaml": UMBRELLA.format(public=url),
        "charts/umbrella/Chart.lock": LOCKFILE.format(public=url, digest=digest),
    }
    remote = make_bare_repo(git_daemon.base / "deps.git", files)
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("deps.git"), helm_repo.host)
    config.write_text(config.read_text().replace("paths: [apps]", "paths: [charts]"))
    before = commits(remote)
    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(commits(remote)) == len(before) + 1
    chart = files["charts/umbrella/Chart.yaml"].replace('version: "1.0.0"', 'version: "1.1.0"')
    assert git("show", "main:charts/umbrella/Chart.yaml", cwd=remote) == chart
    moved = {**web, "version": "1.1.0"}
    new_digest = lock_digest([{**moved, "condition": "web.enabled"}, pinned], [moved, pinned])
    lock = (
        files["charts/umbrella/Chart.lock"]
        .replace("  version: 1.0.0", "  version: 1.1.0")
        .replace(digest, new_digest)
    )
    assert git("show", "main:charts/umbrella/Chart.lock", cwd=remote) == lock

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(commits(remote)) == len(before) + 1, "the second run is idle"
