"""Flux v2 ImagePolicy and ImageRepository objects, translated into our policy strings.

``semver.range`` becomes ``semver:<range>;strict`` (Flux parses tags as strict
SemVer after one leading ``v``), ``alphabetical``/``numerical`` keep their order,
``filterTags`` becomes ``;filter=<re>;extract=<tpl>``, and a digest reflection
policy other than ``Never`` becomes ``;pin-digest``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.nodes import Node

from automator.errors import ManifestError
from automator.manifests.document import mapping_get, plain_data, scalar_get

API_GROUP = "image.toolkit.fluxcd.io/"
_NEEDS_QUOTES = re.compile(r'[;"\s]')


@dataclass(frozen=True, slots=True)
class FluxTarget:
    """What an ``$imagepolicy`` marker resolves to."""

    policy: str  # our policy string
    image: str  # the ImageRepository's spec.image (the name Flux writes)


@dataclass(slots=True)
class FluxObjects:
    """The ImagePolicy and ImageRepository objects found in a repo, by (namespace, name)."""

    policies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    repositories: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, document: Node) -> None:
        """Remember ``document`` if it is an ImagePolicy or ImageRepository."""
        api = scalar_get(document, "apiVersion") or ""
        kind = scalar_get(document, "kind")
        if not api.startswith(API_GROUP) or kind not in ("ImagePolicy", "ImageRepository"):
            return
        metadata = mapping_get(document, "metadata")
        key = (scalar_get(metadata, "namespace") or "", scalar_get(metadata, "name") or "")
        spec = plain_data(mapping_get(document, "spec"))
        table = self.policies if kind == "ImagePolicy" else self.repositories
        table[key] = spec if isinstance(spec, dict) else {}

    def resolve(self, ref: str) -> FluxTarget:
        """Resolve ``namespace:name`` or raise ManifestError saying what is missing."""
        namespace, _, name = ref.partition(":")
        spec = _lookup(self.policies, namespace, name)
        if spec is None:
            raise ManifestError(f"ImagePolicy {namespace}/{name} is not in the repo")
        repo_ref = spec.get("imageRepositoryRef") or {}
        repo_name = repo_ref.get("name") if isinstance(repo_ref, dict) else None
        if not repo_name:
            raise ManifestError(f"ImagePolicy {namespace}/{name} has no imageRepositoryRef.name")
        repo_ns = repo_ref.get("namespace") or namespace
        repository = _lookup(self.repositories, repo_ns, repo_name)
        if repository is None or not repository.get("image"):
            raise ManifestError(f"ImageRepository {repo_ns}/{repo_name} is not in the repo")
        return FluxTarget(translate(spec, f"{namespace}/{name}"), str(repository["image"]))


def _lookup(
    table: dict[tuple[str, str], dict[str, Any]], namespace: str, name: str
) -> dict[str, Any] | None:
    """Exact namespace first; an object without one (set by a kustomization) matches any."""
    return table.get((namespace, name), table.get(("", name)))


def translate(spec: dict[str, Any], where: str) -> str:
    """An ImagePolicy ``spec`` as our policy string."""
    choice = spec.get("policy")
    if not isinstance(choice, dict) or len(choice) != 1:
        raise ManifestError(
            f"ImagePolicy {where}: spec.policy needs one of semver, alphabetical, numerical"
        )
    ((kind, settings),) = choice.items()
    settings = settings if isinstance(settings, dict) else {}
    options: list[str] = []
    if kind == "semver":
        if not settings.get("range"):
            raise ManifestError(f"ImagePolicy {where}: spec.policy.semver.range is missing")
        head = f"semver:{settings['range']}"
    elif kind in ("alphabetical", "numerical"):
        order = settings.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise ManifestError(f"ImagePolicy {where}: order {order!r} is not asc or desc")
        head = f"{kind}:{order}"
    else:
        raise ManifestError(f"ImagePolicy {where}: unknown policy kind {kind!r}")
    filters = spec.get("filterTags")
    if isinstance(filters, dict):
        for flux_name, option in (("pattern", "filter"), ("extract", "extract")):
            if filters.get(flux_name):
                options.append(f"{option}={quote_option(str(filters[flux_name]))}")
    if kind == "semver":
        options.append("strict")
    if spec.get("digestReflectionPolicy") in ("IfNotPresent", "Always"):
        options.append("pin-digest")
    return ";".join([head, *options])


def quote_option(value: str) -> str:
    """An option value, in double quotes (``\\"`` and ``\\\\`` escaped) when it needs them."""
    if not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
