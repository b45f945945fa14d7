"""Flux HelmRelease chart versions: ``spec.chart.spec.version`` under a policy.

A HelmRelease's version is a Site when a ``# automator: <policy>`` marker ends its line
or the release carries ``automator.dev/policy.chart`` (or ``automator.dev/policy``).
Its candidates are the chart's versions in the repository its
``spec.chart.spec.sourceRef`` names: a ``HelmRepository`` found among the objects of
the config repo (its namespace defaults to the release's), read from ``spec.url``.

Left alone, with the reason: a version that is a range (``1.x``, ``>=1.0``: Flux
resolves it on every reconcile), an OCI HelmRepository (``type: oci``) and
``spec.chartRef`` (OCI charts are not read yet), a sourceRef that is not in the repo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ruamel.yaml.nodes import Node, ScalarNode

from automator.manifests.document import mapping_get, path_get, scalar_get
from automator.manifests.fluxv2 import FluxObjects, lookup
from automator.manifests.workloads import OUR_PREFIX
from automator.model import ChartSource
from automator.reference import ImageRef

HELM_GROUP: Final = "helm.toolkit.fluxcd.io/"
CHART_KEY: Final = f"{OUR_PREFIX}.chart"
# an exact version (what a policy can move), as opposed to a range Flux resolves itself
_EXACT: Final = re.compile(r"v?[0-9]+(?:\.[0-9]+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


@dataclass(frozen=True, slots=True)
class Release:
    """What one HelmRelease says about its chart version."""

    name: str  # "namespace/name" or "name"
    version: ScalarNode | None  # spec.chart.spec.version, when it is a scalar
    policy: str  # from the annotations ("" when none)
    governed_by: str  # the annotation key that gave ``policy``
    source: ChartSource | None  # where versions are listed; None with ``problem``
    problem: str = ""  # why no candidates can be listed


def release_of(document: Node, flux: FluxObjects) -> Release | None:
    """The chart of a HelmRelease document, or None when ``document`` is not one."""
    api = scalar_get(document, "apiVersion") or ""
    if not api.startswith(HELM_GROUP) or scalar_get(document, "kind") != "HelmRelease":
        return None
    metadata = mapping_get(document, "metadata")
    namespace = scalar_get(metadata, "namespace") or ""
    name = scalar_get(metadata, "name") or ""
    where = f"{namespace}/{name}" if namespace else name
    annotations = mapping_get(metadata, "annotations")
    policy, key = "", ""
    for candidate in (CHART_KEY, OUR_PREFIX):
        value = scalar_get(annotations, candidate)
        if value is not None:
            policy, key = value, candidate
            break
    node = path_get(document, "spec", "chart", "spec", "version")
    version = node if isinstance(node, ScalarNode) else None
    source, problem = _source(document, flux, namespace, where)
    return Release(where, version, policy, key, source, problem)


def _source(
    document: Node, flux: FluxObjects, namespace: str, where: str
) -> tuple[ChartSource | None, str]:
    if path_get(document, "spec", "chartRef") is not None:
        return None, f"HelmRelease {where}: spec.chartRef (an OCI chart) is not read yet"
    spec = path_get(document, "spec", "chart", "spec")
    chart = scalar_get(spec, "chart") or ""
    ref = mapping_get(spec, "sourceRef")
    kind, ref_name = scalar_get(ref, "kind") or "", scalar_get(ref, "name") or ""
    if not chart or not ref_name:
        return None, f"HelmRelease {where}: spec.chart.spec needs chart and sourceRef.name"
    if kind != "HelmRepository":
        return None, f"HelmRelease {where}: a chart from a {kind or 'source'} has no versions"
    ref_ns = scalar_get(ref, "namespace") or namespace
    repository = lookup(flux.helm_repositories, ref_ns, ref_name)
    shown = f"{ref_ns}/{ref_name}" if ref_ns else ref_name
    if repository is None:
        return None, (
            f"HelmRelease {where}: HelmRepository {shown} is not in the repo; add it or fix"
            " spec.chart.spec.sourceRef"
        )
    url = str(repository.spec.get("url") or "")
    if repository.spec.get("type") == "oci" or url.startswith("oci://"):
        return None, f"HelmRelease {where}: HelmRepository {shown} is OCI, not read yet"
    if urlsplit(url).scheme not in ("http", "https"):
        return None, f"HelmRelease {where}: HelmRepository {shown} has no http(s) spec.url"
    return ChartSource(url, chart), ""


def is_exact(version: str) -> bool:
    """Whether ``version`` names one version (a policy may move it), not a range."""
    return _EXACT.fullmatch(version) is not None


def chart_image(source: ChartSource, version: str) -> ImageRef:
    """How messages name a chart: ``host/path/chart:version`` (never sent to a registry)."""
    parts = urlsplit(source.repo_url)
    path = "/".join(p for p in (parts.path.strip("/"), source.name) if p)
    return ImageRef(parts.netloc.rpartition("@")[2], path, version)
