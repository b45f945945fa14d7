"""Argo CD Helm sources (multi-source too) and kustomize helmCharts as chart-version Sites."""

from __future__ import annotations

from automator.manifests import scan_files
from automator.model import ChartSource

APP = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: multi
  namespace: argocd
  annotations:
    automator.dev/policy.chart: "semver:^1"
spec:
  sources:
  - repoURL: https://charts.example.test/stable
    chart: web
    targetRevision: 1.2.0
  - repoURL: registry.example.test/charts
    chart: api
    targetRevision: 0.3.1 # automator: semver:~0.3
  - repoURL: https://github.com/acme/config.git
    path: envs/prod
    targetRevision: main
  - repoURL: https://charts.example.test/stable
    chart: ranged
    targetRevision: 1.2.*
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: fleet}
spec:
  template:
    spec:
      source:
        repoURL: oci://registry.example.test/charts
        chart: db
        targetRevision: "2.0.0" # automator: semver:^2
"""
KUSTOMIZATION = b"""\
helmCharts:
- name: web
  repo: https://charts.example.test/stable
  version: 1.2.0 # automator: semver:^1
  releaseName: web
- name: api
  repo: oci://registry.example.test/charts
  version: 0.3.1
- name: bad
  repo: "ftp://x"
  version: 1.0.0 # automator: semver:*
"""


def test_argo_helm_sources_and_kustomize_helm_charts() -> None:
    result = scan_files([("apps/app.yaml", APP), ("apps/kustomization.yaml", KUSTOMIZATION)])
    found = [(s.workload, s.value, s.policy, s.origin, s.chart, str(s.image)) for s in result.sites]
    web = ChartSource("https://charts.example.test/stable", "web")
    assert found == [
        ("Application/argocd/multi chart web", "1.2.0", "semver:^1", "annotation", web,
         "charts.example.test/stable/web:1.2.0"),
        ("Application/argocd/multi chart api", "0.3.1", "semver:~0.3", "marker", None,
         "registry.example.test/charts/api:0.3.1"),
        ("ApplicationSet/fleet chart db", "2.0.0", "semver:^2", "marker", None,
         "registry.example.test/charts/db:2.0.0"),
        ("helmCharts/apps/kustomization.yaml chart web", "1.2.0", "semver:^1", "marker", web,
         "charts.example.test/stable/web:1.2.0"),
    ]  # fmt: skip
    assert [s.reason for s in result.skipped] == [
        "Application argocd/multi chart ranged: version '1.2.*' is a range, which Argo CD"
        " resolves itself; left alone",
        "helmCharts apps/kustomization.yaml chart bad: repository 'ftp://x' is neither"
        " http(s):// nor OCI",
    ]
