"""Issue 16's end-to-end repo: one config repo holding every kind of chart version.

A HelmRelease from an HTTP HelmRepository (nginx, archives in Helm's layout), a HelmRelease
from an OCI HelmRepository and an OCIRepository (charts pushed to the real registry with
Helm's media types), an Argo CD Application with two Helm sources, a kustomization's
``helmCharts`` and a ``Chart.yaml`` with its ``Chart.lock``. The OCIRepository is governed
by a rule of automator.yaml, the rest by annotations and markers.

In push mode one ``run --once`` moves every version in one commit, byte-exactly, the lock's
digest as Helm computes it, and the second run is idle. In pull-request mode (a fake GitHub
checked against GitHub's OpenAPI description) the Chart.yaml change and its Chart.lock change
land on one branch, whatever the grouping, and each pull request links its charts' source,
home and release notes, a hostile URL left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from automator.charts.lock import lock_digest
from testing.fakeforge import FakeForge
from testing.forgespec import OpenApiCheck, load
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.helmrepo import Chart, HelmRepoServer, push_chart, write_index
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator, commits

TOKEN = "ghp-charts-e2e-token"
HOME = "https://acme.example/web"
SOURCE = "https://github.com/acme/charts"

SOURCES = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: public, namespace: flux-system}}
spec:
  url: {public}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: oci-charts, namespace: flux-system}}
spec:
  type: oci
  url: oci://{reg}/{charts}
"""
RELEASES = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: apps
  annotations:
    automator.dev/policy.chart: "semver:^1"
spec:
  chart:
    spec:
      chart: web
      version: "1.0.0"
      sourceRef: {{kind: HelmRepository, name: public, namespace: flux-system}}
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
      sourceRef: {{kind: HelmRepository, name: oci-charts, namespace: flux-system}}
"""
OCIREPOSITORY = """\
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: db
  namespace: apps
spec:
  url: oci://{reg}/{charts}/db
  ref:
    tag: "2.0.0"   # no marker, no annotation: the rule db-chart governs it
"""
APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: multi
  namespace: argocd
  annotations:
    automator.dev/policy.chart: "semver:~1.0"
spec:
  project: default
  sources:
    - repoURL: {public}
      chart: web
      targetRevision: 1.0.0
    - repoURL: {reg}/{charts}
      chart: api
      targetRevision: 0.3.1 # automator: semver:*
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
"""
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


def moved(text: str, *pairs: tuple[str, str]) -> str:
    """``text`` with each ``old`` (which occurs once) replaced by its ``new``."""
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def digest(url: str, web: str) -> str:
    """The Chart.lock digest of UMBRELLA with web at ``web`` (charts.lock: Helm's HashReq,
    checked against Helm's own test vector in tests/automator/manifests/test_chartlock.py)."""
    dep = {"name": "web", "version": web, "repository": url}
    pinned = {"name": "pinned", "version": "2.0.0", "repository": url}
    return lock_digest([{**dep, "condition": "web.enabled"}, pinned], [dep, pinned])


@pytest.fixture
def fleet(
    tmp_path: Path,
    helm_repo: HelmRepoServer,
    registry: Registry,
    pusher: Pusher,
    git_daemon: GitDaemon,
) -> dict[str, object]:
    """The charts served and pushed, and the config repo holding the six kinds of target."""
    suffix = uuid.uuid4().hex[:8]
    public, charts = f"together-{suffix}", f"charts-{suffix}"
    web = [
        Chart(
            "web",
            v,
            home=HOME,
            sources=("git@github.com:acme/charts.git", SOURCE),
            annotations={"artifacthub.io/releaseNotes": f"{SOURCE}/releases/tag/web-{v}"},
        )
        for v in ("1.0.0", "1.0.2", "1.4.0", "2.0.0")
    ]
    write_index(helm_repo.root / public, web)
    for version in ("0.3.1", "0.3.4", "0.4.0"):
        api = Chart("api", version, sources=("https://github.com/acme/api-chart",))
        push_chart(pusher, f"{charts}/api", api, tmp_path / "build")
    for version in ("2.0.0", "2.0.5", "2.1.0"):
        db = Chart("db", version, home="javascript:alert(1)", sources=(f"{SOURCE}/db",))
        push_chart(pusher, f"{charts}/db", db, tmp_path / "build")
    url = helm_repo.url(public)
    fill = {"public": url, "reg": registry.host, "charts": charts}
    files = {
        "flux/sources.yaml": SOURCES.format(**fill),
        "apps/releases.yaml": RELEASES.format(**fill),
        "apps/ocirepository.yaml": OCIREPOSITORY.format(**fill),
        "apps/application.yaml": APPLICATION.format(**fill),
        "apps/kustomization.yaml": KUSTOMIZATION.format(**fill),
        "charts/umbrella/Chart.yaml": UMBRELLA.format(**fill),
        "charts/umbrella/Chart.lock": LOCKFILE.format(public=url, digest=digest(url, "1.0.0")),
    }
    remote = make_bare_repo(git_daemon.base / "together.git", files)
    config = f"""\
sources:
  - name: fleet
    url: {git_daemon.url("together.git")}
    branch: main
    paths: [apps, charts]
write:
  mode: push
  commit:
    author: "automator <automator@example.test>"
registries:
  - host: {helm_repo.host}
    insecure: true
  - host: {registry.host}
    insecure: true
rules:
  - name: db-chart
    charts: ["oci://{registry.host}/{charts}/db"]
    policy: "semver:~2.0"
state_dir: {tmp_path / "state"}
"""
    return {"remote": remote, "files": files, "config": config, "url": url}


def expected(files: dict[str, str], url: str) -> dict[str, str]:
    """Every file after the run: each version where its policy puts it."""
    return {
        "flux/sources.yaml": files["flux/sources.yaml"],
        "apps/releases.yaml": moved(
            files["apps/releases.yaml"],
            ('version: "1.0.0"', 'version: "1.4.0"'),  # semver:^1 (annotation)
            ("version: 0.3.1 #", "version: 0.3.4 #"),  # semver:~0.3 (marker), OCI
        ),
        "apps/ocirepository.yaml": moved(
            files["apps/ocirepository.yaml"],
            ('tag: "2.0.0"', 'tag: "2.0.5"'),  # the rule
        ),
        "apps/application.yaml": moved(
            files["apps/application.yaml"],
            ("targetRevision: 1.0.0", "targetRevision: 1.0.2"),  # semver:~1.0 (annotation)
            ("targetRevision: 0.3.1 #", "targetRevision: 0.4.0 #"),  # semver:* (marker)
        ),
        "apps/kustomization.yaml": moved(
            files["apps/kustomization.yaml"], ("version: 1.0.0 ", "version: 1.0.2 ")
        ),
        "charts/umbrella/Chart.yaml": moved(
            files["charts/umbrella/Chart.yaml"], ('version: "1.0.0"', 'version: "1.4.0"')
        ),
        "charts/umbrella/Chart.lock": moved(
            files["charts/umbrella/Chart.lock"],
            ("  version: 1.0.0", "  version: 1.4.0"),
            (digest(url, "1.0.0"), digest(url, "1.4.0")),
        ),
    }


def blob(remote: Path, ref: str, path: str) -> bytes:
    return git("cat-file", "blob", f"{ref}:{path}", cwd=remote).encode()


def test_every_chart_version_moves_in_one_commit(tmp_path: Path, fleet: dict[str, object]) -> None:
    remote, files, url = fleet["remote"], fleet["files"], fleet["url"]
    assert isinstance(remote, Path) and isinstance(files, dict) and isinstance(url, str)
    config = tmp_path / "automator.yaml"
    config.write_text(str(fleet["config"]))
    before = commits(remote)

    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert len(commits(remote)) == len(before) + 1, "one commit for the six targets"
    for path, text in expected(files, url).items():
        assert blob(remote, "main", path) == text.encode(), path
    assert "2.0.0 -> 2.0.5 in apps/ocirepository.yaml (semver:~2.0)" in first.stderr

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(commits(remote)) == len(before) + 1, "the second run is idle"


@pytest.fixture
def forge(tmp_path: Path, fleet: dict[str, object]) -> Iterator[FakeForge]:
    remote = fleet["remote"]
    assert isinstance(remote, Path)
    spec = load("github-pr-slice.json")
    check = OpenApiCheck(spec, "https://api.github.com", strip="/api/v3")
    with FakeForge(
        "github", token=TOKEN, repository="acme/fleet", branches=lambda: branches(remote),
        check=check, examples=spec["components"]["examples"],
    ) as fake:  # fmt: skip
        yield fake
        assert fake.problems == [], "traffic GitHub's API description rejects"


def branches(remote: Path) -> list[str]:
    out = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote)
    return [b for b in out.split() if b.startswith("automator/")]


@pytest.mark.parametrize("group", ["image", "workload"])
def test_in_pull_requests_a_chart_and_its_lock_share_a_branch(
    tmp_path: Path,
    fleet: dict[str, object],
    forge: FakeForge,
    group: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote, files, url = fleet["remote"], fleet["files"], fleet["url"]
    assert isinstance(remote, Path) and isinstance(files, dict) and isinstance(url, str)
    config = tmp_path / "automator.yaml"
    pulls = f"""\
  mode: pull-request
  group: {group}
  forge:
    kind: github
    api_url: {forge.url}/api/v3
    repository: acme/fleet
    token_env: E2E_GITHUB_TOKEN
"""
    config.write_text(str(fleet["config"]).replace("  mode: push\n", pulls))
    monkeypatch.setenv("E2E_GITHUB_TOKEN", TOKEN)
    before = commits(remote)

    first = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert commits(remote) == before, "the base branch is never written in this mode"
    touched = {
        branch: set(git("diff", "--name-only", f"main..{branch}", cwd=remote).split())
        for branch in branches(remote)
    }
    [umbrella] = [b for b, names in touched.items() if "charts/umbrella/Chart.yaml" in names]
    assert touched[umbrella] == {"charts/umbrella/Chart.yaml", "charts/umbrella/Chart.lock"}
    assert umbrella == "automator/chart/charts/umbrella/chart.yaml"
    after = expected(files, url)
    for path in touched[umbrella]:  # the lock's digest is the one Helm computes
        assert blob(remote, umbrella, path) == after[path].encode(), path
    assert sorted(set().union(*touched.values())) == sorted(p for p in files if p[:5] != "flux/")

    prs = forge.open_prs()
    assert sorted(pr.head for pr in prs) == sorted(touched)
    bodies = "\n".join(pr.body for pr in prs)
    web = (
        f"[source]({SOURCE}), [homepage]({HOME}), [release notes]({SOURCE}/releases/tag/web-1.4.0)"
    )
    assert web in bodies  # from the index entry of web 1.4.0
    assert "[source](https://github.com/acme/api-chart)" in bodies  # the OCI manifest's
    assert f"[source]({SOURCE}/db)" in bodies
    assert "javascript" not in bodies  # db's hostile home is left out

    second = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(forge.prs) == len(prs) and "pull request created" not in second.stderr
