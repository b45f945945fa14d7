"""Flux v2 ImagePolicy, ImageRepository and ImageUpdateAutomation objects.

An ImagePolicy becomes one of our policy strings: ``semver.range`` becomes
``semver:<range>;strict`` (Flux parses tags as strict SemVer after one leading
``v``), ``alphabetical``/``numerical`` keep their order, ``filterTags`` becomes
``;filter=<re>;extract=<tpl>``, ``digestReflectionPolicy`` becomes
``;reflect-digest=never|if-not-present|always`` (Flux's default is ``Never``), and
its ImageRepository's ``exclusionList`` becomes one ``;exclude=<re>`` each. The
image a marker writes is the ImageRepository's ``spec.image``.

Objects are collected from every file of the source (not only under ``paths``);
one without ``metadata.namespace`` (set by a kustomization) matches any namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.nodes import Node

from automator.errors import ManifestError
from automator.manifests.document import mapping_get, plain_data, scalar_get

API_GROUP = "image.toolkit.fluxcd.io/"
SOURCE_GROUP = "source.toolkit.fluxcd.io/"
KINDS = ("ImagePolicy", "ImageRepository", "ImageUpdateAutomation")
# image-reflector-controller api/v1 imagerepository_types.go: the default exclusionList
DEFAULT_EXCLUSIONS = ("^.*\\.sig$",)
# Flux ImageRepository spec.provider values; each names a registries[].provider of automator.yaml
SUPPORTED_PROVIDERS = frozenset({"generic", "aws", "gcp", "azure"})
_NEEDS_QUOTES = re.compile(r'[;"\s]')
_REFLECT = {"Never": "never", "IfNotPresent": "if-not-present", "Always": "always"}

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class FluxObject:
    """One object: its namespace, name, labels and plain ``spec``."""

    namespace: str
    name: str
    labels: dict[str, str]
    spec: dict[str, Any]
    file: str = ""

    @property
    def where(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class FluxTarget:
    """What an ``$imagepolicy`` marker resolves to."""

    policy: str  # our policy string
    image: str  # the ImageRepository's spec.image (the name Flux writes)
    key: Key = ("", "")  # the ImagePolicy's (namespace, name)


@dataclass(slots=True)
class FluxObjects:
    """The Flux image objects found in a repo, by kind and (namespace, name)."""

    policies: dict[Key, FluxObject] = field(default_factory=dict)
    repositories: dict[Key, FluxObject] = field(default_factory=dict)
    automations: dict[Key, FluxObject] = field(default_factory=dict)
    sources: dict[Key, FluxObject] = field(default_factory=dict)  # GitRepository objects
    helm_repositories: dict[Key, FluxObject] = field(default_factory=dict)
    selected: frozenset[Key] | None = None  # ImagePolicies an automation selects; None: all

    def selects(self, key: Key) -> bool:
        """Whether markers of the ImagePolicy ``key`` are to be written."""
        return self.selected is None or key in self.selected

    def add(self, document: Node, file: str = "") -> None:
        """Remember ``document`` if it is one of the Flux image kinds or a GitRepository."""
        api = scalar_get(document, "apiVersion") or ""
        kind = scalar_get(document, "kind")
        source = api.startswith(SOURCE_GROUP) and kind in ("GitRepository", "HelmRepository")
        if not source and (not api.startswith(API_GROUP) or kind not in KINDS):
            return
        metadata = mapping_get(document, "metadata")
        labels = plain_data(mapping_get(metadata, "labels"))
        spec = plain_data(mapping_get(document, "spec"))
        found = FluxObject(
            scalar_get(metadata, "namespace") or "",
            scalar_get(metadata, "name") or "",
            {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
            spec if isinstance(spec, dict) else {},
            file,
        )
        table = {
            "GitRepository": self.sources,
            "HelmRepository": self.helm_repositories,
            "ImagePolicy": self.policies,
            "ImageRepository": self.repositories,
            "ImageUpdateAutomation": self.automations,
        }[kind or ""]
        table[(found.namespace, found.name)] = found

    def has_policy(self, ref: str) -> bool:
        """Whether the ImagePolicy ``namespace:name`` is in the repo."""
        namespace, _, name = ref.partition(":")
        return lookup(self.policies, namespace, name) is not None

    def resolve(self, ref: str) -> FluxTarget:
        """Resolve ``namespace:name`` or raise ManifestError saying what is missing."""
        namespace, _, name = ref.partition(":")
        policy = lookup(self.policies, namespace, name)
        if policy is None:
            raise ManifestError(f"ImagePolicy {namespace}/{name} is not in the repo")
        return self.target(policy, namespace)

    def target(self, policy: FluxObject, namespace: str | None = None) -> FluxTarget:
        """What ``policy`` writes; ManifestError when its ImageRepository is unusable."""
        namespace = policy.namespace if namespace is None else namespace
        where = f"{namespace}/{policy.name}" if namespace else policy.name
        repository = self.repository_of(policy, namespace)
        problem = provider_problem(repository)
        if problem:
            raise ManifestError(problem)
        policy_text = translate(policy.spec, where, exclusions(repository))
        return FluxTarget(policy_text, str(repository.spec["image"]), (namespace, policy.name))

    def repository_of(self, policy: FluxObject, namespace: str) -> FluxObject:
        """The ImageRepository ``policy`` names, or ManifestError saying it is missing."""
        where = f"{namespace}/{policy.name}" if namespace else policy.name
        repo_ref = policy.spec.get("imageRepositoryRef") or {}
        repo_name = repo_ref.get("name") if isinstance(repo_ref, dict) else None
        if not repo_name:
            raise ManifestError(f"ImagePolicy {where} has no imageRepositoryRef.name")
        repo_ns = repo_ref.get("namespace") or namespace
        repository = lookup(self.repositories, repo_ns, repo_name)
        if repository is None or not repository.spec.get("image"):
            raise ManifestError(
                f"ImagePolicy {where} names ImageRepository {repo_ns}/{repo_name}, which is"
                " not in the repo; add it or fix spec.imageRepositoryRef"
            )
        return repository


def lookup(table: dict[Key, FluxObject], namespace: str, name: str) -> FluxObject | None:
    """Exact namespace first; an object without one (set by a kustomization) matches any."""
    return table.get((namespace, name), table.get(("", name)))


def provider_problem(repository: FluxObject) -> str:
    """Why automator cannot list ``repository`` with its ``spec.provider``, or ''.

    Flux's ``generic``, ``aws``, ``gcp`` and ``azure`` are the provider names of
    ``registries[].provider`` in automator.yaml, which is where the credentials come
    from: the config repo may ask for a cloud identity but never grants one, so the
    registry's entry in automator.yaml must say the same provider (docs/flux.md).
    """
    provider = str(repository.spec.get("provider") or "generic")
    if provider in SUPPORTED_PROVIDERS:
        return ""
    return (
        f"ImageRepository {repository.where}: provider {provider!r} is not one of generic,"
        " aws, gcp, azure; fix spec.provider"
    )


def exclusions(repository: FluxObject) -> tuple[str, ...]:
    """``spec.exclusionList``; a list given replaces Flux's default (cosign ``.sig``)."""
    listed = repository.spec.get("exclusionList")
    if isinstance(listed, list):
        return tuple(str(item) for item in listed)
    return DEFAULT_EXCLUSIONS


def translate(spec: dict[str, Any], where: str, excluded: tuple[str, ...] = ()) -> str:
    """An ImagePolicy ``spec`` (and its repository's exclusions) as our policy string."""
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
    options.extend(f"exclude={quote_option(e)}" for e in excluded if e != DEFAULT_EXCLUSIONS[0])
    reflect = spec.get("digestReflectionPolicy") or "Never"
    if reflect not in _REFLECT:
        raise ManifestError(
            f"ImagePolicy {where}: digestReflectionPolicy {reflect!r} is not Never,"
            " IfNotPresent or Always"
        )
    options.append(f"reflect-digest={_REFLECT[reflect]}")
    return ";".join([head, *options])


def quote_option(value: str) -> str:
    """An option value, in double quotes (``\\"`` and ``\\\\`` escaped) when it needs them."""
    if not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
