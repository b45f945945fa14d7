"""What ``rules:`` see of a chart version (``manifests.rules``): a ``Target`` whose
``charts`` are the chart's name, its location without a scheme and its URL.

A rule gives a chart version its policy only when no annotation and no marker does,
and a rule's ``hold`` holds it whatever governs it, as for containers.
"""

from __future__ import annotations

from typing import Final

from ruamel.yaml.nodes import Node

from automator.manifests.document import mapping_get, scalar_get
from automator.manifests.helmrelease import Release, chart_image
from automator.manifests.rules import Target

# how a rule's ``kinds`` name the targets that are not Kubernetes objects
_KINDS: Final = {"helmCharts": "Kustomization", "dependencies": "Chart"}


def chart_target(path: str, document: Node, release: Release, version: str) -> Target | None:
    """What rules match ``release``'s chart by, or None when it names no chart to list."""
    if release.image is not None:
        image = release.image
        name = image.path.rsplit("/", 1)[-1]
        url = f"oci://{image.name}"
    elif release.source is not None:
        image = chart_image(release.source, version)
        name = release.source.name
        url = f"{release.source.repo_url.rstrip('/')}/{name}"
    else:
        return None
    kind = _KINDS.get(release.kind, release.kind)
    namespace = scalar_get(mapping_get(document, "metadata"), "namespace") or ""
    return Target(path, image, kind, namespace, "", charts=(name, image.name, url))
