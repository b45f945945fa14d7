"""Chart versions outside Flux: Argo CD Helm sources and kustomize ``helmCharts``.

* An Argo CD ``Application`` (or ``ApplicationSet`` template) Helm source is a source
  with ``chart``: its ``targetRevision`` is the version, ``repoURL`` the repository
  (``http(s)://``: a classic one; ``oci://host/path`` or a bare ``host/path``: OCI).
  Every source of a multi-source Application (``spec.sources``) is one target. The
  policy is a marker on the ``targetRevision`` line or ``automator.dev/policy.chart``
  (or ``automator.dev/policy``) on the Application.
* A kustomization's ``helmCharts[]`` entry: ``version`` under a marker; ``repo`` the
  repository, as above.
* A ``Chart.yaml``'s ``dependencies[]`` entry: ``version`` under a marker;
  ``repository`` as above (``file://`` and ``@alias`` ones are refused). Its
  ``Chart.lock``, when there is one, moves with it (``manifests.chartlock``).

A version that is a range (``1.2.*``, ``>=1.0``) is left alone: Argo CD and kustomize
resolve it themselves.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.manifests.document import mapping_get, path_get, scalar_get
from automator.manifests.helmrelease import Release, identity, oci_image
from automator.model import ChartSource

ARGO_GROUP: Final = "argoproj.io/"
_KUSTOMIZE_KINDS: Final = ("Kustomization", None)
_KUSTOMIZATIONS: Final = ("kustomization.yaml", "kustomization.yml", "kustomization")


def app_targets(document: Node, path: str) -> list[Release]:
    """The chart versions of an Argo CD Application/ApplicationSet or a kustomization."""
    api = scalar_get(document, "apiVersion") or ""
    kind = scalar_get(document, "kind")
    if api.startswith(ARGO_GROUP) and kind in ("Application", "ApplicationSet"):
        return _argo(document, kind)
    name = path.rsplit("/", 1)[-1]
    if name.lower() in _KUSTOMIZATIONS and kind in _KUSTOMIZE_KINDS:
        return _kustomize(document, path, "helmCharts", "repo")
    if name == "Chart.yaml":
        return _kustomize(document, path, "dependencies", "repository")
    return []


def _argo(document: Node, kind: str) -> list[Release]:
    _, where, policy, key = identity(document)
    spec = mapping_get(document, "spec")
    if kind == "ApplicationSet":
        spec = path_get(spec, "template", "spec")
    sources: list[Node] = []
    single = mapping_get(spec, "source")
    if single is not None:
        sources.append(single)
    many = mapping_get(spec, "sources")
    if isinstance(many, SequenceNode):
        sources.extend(many.value)
    targets = []
    for source in sources:
        chart = scalar_get(source, "chart")
        if not isinstance(source, MappingNode) or not chart:
            continue
        node = mapping_get(source, "targetRevision")
        version = node if isinstance(node, ScalarNode) else None
        repo = scalar_get(source, "repoURL") or ""
        targets.append(_target(f"{where} chart {chart}", kind, version, policy, key, repo, chart))
    return targets


def _kustomize(document: Node, path: str, field: str, repo_key: str) -> list[Release]:
    """``helmCharts`` of a kustomization, or ``dependencies`` of a Chart.yaml."""
    entries = mapping_get(document, field)
    if not isinstance(entries, SequenceNode):
        return []
    targets = []
    for entry in entries.value:
        chart = scalar_get(entry, "name")
        node = mapping_get(entry, "version")
        if not chart or not isinstance(node, ScalarNode):
            continue
        repo = scalar_get(entry, repo_key) or ""
        targets.append(_target(f"{path} chart {chart}", field, node, "", "", repo, chart))
    return targets


def _target(
    where: str,
    kind: str,
    version: ScalarNode | None,
    policy: str,
    key: str,
    repo: str,
    chart: str,
) -> Release:
    scheme = urlsplit(repo).scheme
    if scheme in ("http", "https"):
        source = ChartSource(repo, chart)
        return Release(where, version, policy, key, source, kind=kind)
    image = oci_image(repo if scheme == "oci" else f"oci://{repo}", chart, "")
    if image is None:
        problem = f"{kind} {where}: repository {repo[:80]!r} is neither http(s):// nor OCI"
        return Release(where, version, policy, key, None, problem, kind=kind)
    return Release(where, version, policy, key, None, image=image, kind=kind)
