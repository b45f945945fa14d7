"""HelmRelease chart versions as Sites: the sourceRef resolved in the repo, every refusal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import policies
from automator.errors import AutomatorError, ChartError
from automator.manifests import scan_files
from automator.model import Change, ChartSource, Site, Skip
from automator.plan import build_plan

REPOS = b"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec: {url: "https://charts.example.test/stable"}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: HelmRepository
metadata: {name: oci, namespace: flux-system}
spec: {type: oci, url: "oci://ghcr.io/acme/charts"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: local}
spec: {url: "https://charts.example.test/local/"}
"""


def release(name: str, chart_spec: str, annotations: str = "") -> str:
    return f"""\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: apps
{annotations}spec:
  chart:
    spec:
{chart_spec}"""


RELEASES = "".join(
    [
        release(
            "annotated",
            "      chart: web\n      version: 1.2.0\n"
            "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n",
            '  annotations: {automator.dev/policy.chart: "semver:^1"}\n',
        ),
        release(
            "marked",
            "      chart: api\n      version: '0.3.1'  # automator: semver:~0.3\n"
            "      sourceRef: {kind: HelmRepository, name: local}\n",
            '  annotations: {automator.dev/policy: "semver:*"}\n',
        ),
        release(
            "off",
            "      chart: web\n      version: 1.2.0 # automator: off\n"
            "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n",
            '  annotations: {automator.dev/policy: "semver:*"}\n',
        ),
        release(
            "ungoverned",
            "      chart: web\n      version: 1.2.0\n"
            "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n",
        ),
        release(
            "ranged",
            "      chart: web\n      version: 1.x # automator: semver:*\n"
            "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n",
        ),
        release(
            "oci",
            "      chart: web\n      version: 1.0.0 # automator: semver:*\n"
            "      sourceRef: {kind: HelmRepository, name: oci, namespace: flux-system}\n",
        ),
        release(
            "missing",
            "      chart: web\n      version: 1.0.0 # automator: semver:*\n"
            "      sourceRef: {kind: HelmRepository, name: nowhere}\n",
        ),
        release(
            "chartref",
            "      chart: web\n      version: 1.0.0 # automator: semver:*\n",
        ).replace(
            "  chart:\n    spec:\n",
            "  chartRef: {kind: OCIRepository, name: web}\n  chart:\n    spec:\n",
        ),
        """\
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: manifests, namespace: apps}
spec:
  url: oci://ghcr.io/acme/manifests
  ref:
    tag: "2.1.0"  # automator: semver:^2
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: ranged
  annotations: {automator.dev/policy: "semver:*"}
spec:
  url: oci://ghcr.io/acme/manifests
  ref: {semver: ">=1.0.0", tag: "1.0.0"}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: notoci}
spec:
  url: https://example.test/x
  ref:
    tag: "1.0.0"  # automator: semver:*
""",
        release(
            "flux-marker",
            '      chart: web\n      version: 1.0.0 # {"$imagepolicy": "apps:web:tag"}\n'
            "      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}\n",
        ),
    ]
)


def scan() -> tuple[list[Site], list[Skip]]:
    result = scan_files([("flux/repos.yaml", REPOS), ("apps/releases.yaml", RELEASES.encode())])
    return list(result.sites), list(result.skipped)


def test_governed_versions_are_sites_with_their_repository() -> None:
    sites, _ = scan()
    assert [(s.workload, s.value, s.policy, s.origin, s.chart) for s in sites] == [
        (
            "HelmRelease/apps/annotated",
            "1.2.0",
            "semver:^1",
            "annotation",
            ChartSource("https://charts.example.test/stable", "web"),
        ),
        (
            "HelmRelease/apps/marked",
            "0.3.1",
            "semver:~0.3",
            "marker",
            ChartSource("https://charts.example.test/local/", "api"),
        ),
        ("HelmRelease/apps/oci", "1.0.0", "semver:*", "marker", None),
        ("OCIRepository/apps/manifests", "2.1.0", "semver:^2", "marker", None),
    ]
    assert str(sites[0].image) == "charts.example.test/stable/web:1.2.0"
    # OCI: the registry client lists these like images' tags
    assert str(sites[2].image) == "ghcr.io/acme/charts/web:1.0.0"
    assert str(sites[3].image) == "ghcr.io/acme/manifests:2.1.0"
    assert sites[0].governed_by == "automator.dev/policy.chart"


def test_what_is_left_alone_says_why() -> None:
    _, skipped = scan()
    reasons = [s.reason for s in skipped]
    assert reasons == [
        "HelmRelease apps/ranged: version '1.x' is a range, which Flux resolves itself; left alone",
        "HelmRelease apps/missing: HelmRepository apps/nowhere is not in the repo; add it or fix"
        " spec.chart.spec.sourceRef",
        "HelmRelease apps/chartref: spec.chartRef names an OCIRepository, whose spec.ref.tag is"
        " the version; put the policy there",
        "OCIRepository ranged: spec.ref.semver or .digest decides; Flux resolves it",
        "OCIRepository notoci: spec.url 'https://example.test/x' is not oci://host/path",
        "$imagepolicy markers name images, not chart versions",
    ]


class Table:
    """Charts from memory: what the plan's ``Charts`` seam returns."""

    def __init__(self, versions: dict[str, list[str]]) -> None:
        self.versions = versions

    def candidates(self, source: ChartSource) -> Sequence[policies.Candidate] | AutomatorError:
        if source.name not in self.versions:
            return ChartError(f"{source.repo_url}: 404 reading index.yaml")
        return [policies.Candidate(v) for v in self.versions[source.name]]


class NoRegistry:
    def candidates(self, *args: object, **kw: object) -> AutomatorError:
        raise AssertionError("a chart version never asks a registry")

    def digest(self, *args: object) -> str:
        raise AssertionError("a chart version never asks a registry")


def test_the_plan_moves_chart_versions_by_policy() -> None:
    sites = [s for s in scan()[0] if s.chart is not None]
    charts = Table({"web": ["1.2.0", "1.3.0", "2.0.0"], "api": ["0.3.1", "0.3.2", "0.4.0"]})
    plan = build_plan(sites, NoRegistry(), charts=charts)  # type: ignore[arg-type]
    assert [(c.old, c.new) for c in plan.changes] == [("1.2.0", "1.3.0"), ("0.3.1", "0.3.2")]
    assert isinstance(plan.changes[0], Change)
    assert str(plan.changes[0].image) == "charts.example.test/stable/web:1.3.0"


def test_a_chart_repository_error_is_a_skip() -> None:
    sites = [s for s in scan()[0] if s.chart is not None]
    plan = build_plan(sites, NoRegistry(), charts=Table({}))  # type: ignore[arg-type]
    assert [(s.reason, s.error) for s in plan.skipped] == [
        ("https://charts.example.test/stable: 404 reading index.yaml", True),
        ("https://charts.example.test/local/: 404 reading index.yaml", True),
    ]


def test_image_only_options_are_refused_for_charts() -> None:
    sites, _ = scan()
    site = sites[0]
    plan = build_plan(
        [replace(site, policy="semver:^1;pin-digest")],
        NoRegistry(),  # type: ignore[arg-type]
        charts=Table({"web": ["1.3.0"]}),
    )
    assert "for images, not chart versions" in plan.skipped[0].reason
