"""Flux chart versions under a policy: HelmRelease ``spec.chart.spec.version`` and
OCIRepository ``spec.ref.tag``.

The version is a Site when a ``# automator: <policy>`` marker ends its line or the object
carries ``automator.dev/policy.chart`` (or ``automator.dev/policy``).

A HelmRelease's candidates are the chart's versions in the repository its
``spec.chart.spec.sourceRef`` names: a ``HelmRepository`` found among the objects of the
config repo (its namespace defaults to the release's). A classic one (``http(s)://``)
is read through its ``index.yaml`` (``Release.source``); an OCI one (``type: oci``,
``oci://host/path``) holds the chart as the artifact ``host/path/<chart>``, whose tags
the registry client lists like an image's (``Release.image``). An OCIRepository's tag
is an artifact tag of ``spec.url``, the same way.

Left alone, with the reason: a HelmRelease version that is a range (``1.x``, ``>=1.0``:
Flux resolves it on every reconcile), ``spec.chartRef`` (the version is the named
OCIRepository's ``spec.ref.tag``), an OCIRepository with ``ref.semver`` or
``ref.digest`` (Flux resolves or pins it), a sourceRef that is not in the repo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from ruamel.yaml.nodes import Node, ScalarNode

from automator.errors import ReferenceError_
from automator.manifests.document import mapping_get, path_get, scalar_get
from automator.manifests.fluxv2 import SOURCE_GROUP, FluxObjects, lookup
from automator.manifests.workloads import OUR_PREFIX
from automator.model import ChartSource
from automator.reference import ImageRef, parse_reference

HELM_GROUP: Final = "helm.toolkit.fluxcd.io/"
CHART_KEY: Final = f"{OUR_PREFIX}.chart"
# an exact version (what a policy can move), as opposed to a range Flux resolves itself
_EXACT: Final = re.compile(r"v?[0-9]+(?:\.[0-9]+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")


@dataclass(frozen=True, slots=True)
class Release:
    """What one HelmRelease says about its chart version."""

    name: str  # "namespace/name" or "name"
    version: ScalarNode | None  # spec.chart.spec.version (spec.ref.tag), when a scalar
    policy: str  # from the annotations ("" when none)
    governed_by: str  # the annotation key that gave ``policy``
    source: ChartSource | None  # a classic repository's chart; or None
    problem: str = ""  # why no candidates can be listed
    image: ImageRef | None = None  # an OCI artifact, listed by the registry client
    kind: str = "HelmRelease"
    exact: bool = True  # the version must be one version, not a range

    @property
    def workload(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def resolver(self) -> str:
        """Who resolves a range written in the version."""
        tools = {"Application": "Argo CD", "ApplicationSet": "Argo CD"}
        tools |= {"helmCharts": "kustomize", "dependencies": "helm dependency update"}
        return tools.get(self.kind, "Flux")


def release_of(document: Node, flux: FluxObjects) -> Release | None:
    """The chart of a HelmRelease document, or None when ``document`` is not one."""
    api = scalar_get(document, "apiVersion") or ""
    kind = scalar_get(document, "kind")
    if api.startswith(SOURCE_GROUP) and kind == "OCIRepository":
        return _oci_repository(document)
    if not api.startswith(HELM_GROUP) or kind != "HelmRelease":
        return None
    namespace, where, policy, key = identity(document)
    node = path_get(document, "spec", "chart", "spec", "version")
    version = node if isinstance(node, ScalarNode) else None
    found, problem = _source(document, flux, namespace, where)
    if isinstance(found, ImageRef):
        return Release(where, version, policy, key, None, problem, image=found)
    return Release(where, version, policy, key, found, problem)


def identity(document: Node) -> tuple[str, str, str, str]:
    """namespace, "namespace/name", and the policy and the annotation key that gave it."""
    metadata = mapping_get(document, "metadata")
    namespace = scalar_get(metadata, "namespace") or ""
    name = scalar_get(metadata, "name") or ""
    annotations = mapping_get(metadata, "annotations")
    for candidate in (CHART_KEY, OUR_PREFIX):
        value = scalar_get(annotations, candidate)
        if value is not None:
            return namespace, f"{namespace}/{name}" if namespace else name, value, candidate
    return namespace, f"{namespace}/{name}" if namespace else name, "", ""


def _oci_repository(document: Node) -> Release:
    _, where, policy, key = identity(document)
    node = path_get(document, "spec", "ref", "tag")
    tag = node if isinstance(node, ScalarNode) else None
    ref = mapping_get(mapping_get(document, "spec"), "ref")
    image, problem = None, ""
    if scalar_get(ref, "semver") is not None or scalar_get(ref, "digest") is not None:
        problem = f"OCIRepository {where}: spec.ref.semver or .digest decides; Flux resolves it"
    else:
        url = scalar_get(mapping_get(document, "spec"), "url") or ""
        image = oci_image(url, "", tag.value if tag is not None else "")
        if image is None:
            problem = f"OCIRepository {where}: spec.url {url[:80]!r} is not oci://host/path"
    return Release(where, tag, policy, key, None, problem, image, "OCIRepository", False)


def oci_image(url: str, chart: str, tag: str) -> ImageRef | None:
    """``oci://host/path`` (and the chart under it) as an image reference, or None."""
    if not url.startswith("oci://"):
        return None
    host, _, path = url.removeprefix("oci://").strip("/").partition("/")
    path = "/".join(p for p in (path, chart) if p)
    try:
        parsed = parse_reference(f"{host}/{path}")
    except ReferenceError_:
        return None
    if parsed.domain != host or parsed.path != path:
        return None  # "oci://registry/x" must name its host; a tag or digest has no place here
    return ImageRef(host, path, tag or None)


def _source(
    document: Node, flux: FluxObjects, namespace: str, where: str
) -> tuple[ChartSource | ImageRef | None, str]:
    if path_get(document, "spec", "chartRef") is not None:
        return None, (
            f"HelmRelease {where}: spec.chartRef names an OCIRepository, whose spec.ref.tag"
            " is the version; put the policy there"
        )
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
        image = oci_image(url, chart, "")
        if image is None:
            return None, f"HelmRelease {where}: HelmRepository {shown} has no oci://host/path url"
        return image, ""
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
