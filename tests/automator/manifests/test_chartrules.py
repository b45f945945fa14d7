"""Rules govern chart versions: matched by chart name, location or URL, behind annotations
and markers, first match wins, ``off`` opts out, ``hold`` holds; other rules leave charts be."""

from __future__ import annotations

import pytest

from automator.manifests import scan_files
from automator.manifests.rules import Rule, Target
from automator.model import Site
from automator.reference import parse_reference

REPOS = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec: {url: "https://charts.example.test/stable"}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: oci, namespace: flux-system}
spec: {type: oci, url: "oci://ghcr.io/acme/charts"}
"""
RELEASES = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: apps}
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: api
  namespace: apps
  annotations: {automator.dev/policy.chart: "semver:~0.3"}
spec:
  chart:
    spec:
      chart: api
      version: 0.3.1
      sourceRef: {kind: HelmRepository, name: oci, namespace: flux-system}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: db, namespace: apps}
spec:
  url: oci://ghcr.io/acme/charts/db
  ref: {tag: "2.0.0"}   # automator: semver:~2.0
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: apps}
spec:
  template:
    spec:
      containers:
        - name: shop
          image: ghcr.io/acme/shop:1.0.0
"""
KUSTOMIZATION = """\
helmCharts:
  - name: web
    repo: https://charts.example.test/stable
    version: 1.0.0
"""
CHART = """\
apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
  - name: web
    version: 1.0.0
    repository: https://charts.example.test/stable
"""


def sites(*rules: Rule) -> dict[str, Site]:
    files = [
        ("flux/repos.yaml", REPOS.encode()),
        ("apps/releases.yaml", RELEASES.encode()),
        ("apps/kustomization.yaml", KUSTOMIZATION.encode()),
        ("charts/umbrella/Chart.yaml", CHART.encode()),
    ]
    result = scan_files(files, rules=rules)
    return {site.workload: site for site in result.sites}


def chart(name: str) -> Target:
    image = parse_reference(f"charts.example.test/stable/{name}:1.0.0")
    names = (name, image.name, f"https://charts.example.test/stable/{name}")
    return Target("apps/releases.yaml", image, "HelmRelease", "apps", "", charts=names)


@pytest.mark.parametrize(
    ("globs", "matched"),
    [
        (("web",), True),
        (("w*",), True),
        (("api",), False),
        (("charts.example.test/stable/web",), True),
        (("charts.example.test/**",), True),
        (("charts.example.test/*",), False),  # * stays within one segment
        (("https://charts.example.test/stable/*",), True),
        (("oci://charts.example.test/**",), False),
    ],
)
def test_a_chart_glob_matches_name_location_or_url(globs: tuple[str, ...], matched: bool) -> None:
    assert Rule("r", "semver:*", charts=globs).matches(chart("web")) is matched


def test_a_chart_rule_matches_no_container_and_other_rules_no_chart() -> None:
    container = Target(
        "apps/a.yaml", parse_reference("ghcr.io/acme/web:1"), "Deployment", "", "web"
    )
    assert not Rule("r", "semver:*", charts=("**",)).matches(container)
    assert not Rule("r", "semver:*").matches(chart("web"))
    assert not Rule("r", "semver:*", paths=("apps",)).matches(chart("web"))


def test_a_rule_governs_every_kind_of_chart_target_no_annotation_covers() -> None:
    found = sites(Rule("charts", "semver:^1", charts=("web", "ghcr.io/acme/charts/*")))
    web = found["HelmRelease/apps/web"]
    assert (web.policy, web.origin, web.governed_by) == ("semver:^1", "rule", "rule charts")
    assert str(web.image) == "charts.example.test/stable/web:1.0.0"
    assert found["helmCharts/apps/kustomization.yaml chart web"].origin == "rule"
    assert found["dependencies/charts/umbrella/Chart.yaml chart web"].origin == "rule"
    # the annotation and the marker beat the rule
    assert found["HelmRelease/apps/api"].policy == "semver:~0.3"
    assert found["OCIRepository/apps/db"].policy == "semver:~2.0"
    assert "Deployment/shop" not in found  # a chart rule governs no container


def test_the_first_match_wins_and_off_opts_out() -> None:
    found = sites(
        Rule("chart-yaml", "off", charts=("**",), kinds=("Chart",)),
        Rule("web", "semver:~1.0", charts=("web",), kinds=("HelmRelease",)),
        Rule("rest", "semver:*", charts=("**",)),
    )
    assert found["HelmRelease/apps/web"].governed_by == "rule web"
    assert found["helmCharts/apps/kustomization.yaml chart web"].governed_by == "rule rest"
    assert "dependencies/charts/umbrella/Chart.yaml chart web" not in found


def test_a_rule_hold_holds_a_chart_whatever_governs_it() -> None:
    found = sites(
        Rule("freeze", "", charts=("oci://ghcr.io/acme/**",), hold="change freeze"),
        Rule("web", "semver:^1", charts=("web",)),
    )
    api, db = found["HelmRelease/apps/api"], found["OCIRepository/apps/db"]
    assert api.hold is not None and (api.hold.reason, api.hold.by) == (
        "change freeze",
        "rule freeze",
    )
    assert db.hold is not None and db.hold.by == "rule freeze"  # governed by a marker
    assert found["HelmRelease/apps/web"].hold is None


def test_a_hold_marker_on_a_chart_version_keeps_its_policy() -> None:
    text = RELEASES.replace("version: 0.3.1", "version: 0.3.1  # automator: hold broken 0.3.2")
    result = scan_files([("flux/repos.yaml", REPOS.encode()), ("apps/r.yaml", text.encode())])
    [api] = [s for s in result.sites if s.workload == "HelmRelease/apps/api"]
    assert api.policy == "semver:~0.3"
    assert api.hold is not None and (api.hold.reason, api.hold.by) == ("broken 0.3.2", "marker")
    ungoverned = RELEASES.replace("version: 1.0.0", "version: 1.0.0  # automator: hold why")
    result = scan_files([("flux/repos.yaml", REPOS.encode()), ("apps/r.yaml", ungoverned.encode())])
    assert "'# automator: hold' holds a version no policy governs" in {
        skip.reason for skip in result.skipped
    }
