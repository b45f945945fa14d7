"""Argo CD Image Updater settings: Application annotations and the v1 ImageUpdater resource.

Both are read into the same values: an ``App`` (its sources, write-back method and
target) holding one ``Image`` per image-list entry, each with our policy string.
Annotation keys are ``argocd-image-updater.argoproj.io/<alias>.<option>``, with a
``/`` in the alias written ``_``; app-wide keys (no alias) are the fallback. An
Application that an ImageUpdater selects takes the resource's settings instead
(unless ``useAnnotations: true``), as in Argo v1. Errors are one-line
``ManifestError``s naming the Application and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import policies
from automator.errors import ManifestError, ReferenceError_
from automator.reference import parse_reference

PREFIX = "argocd-image-updater.argoproj.io/"
_ALIAS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?(?:/[A-Za-z0-9_.-]+)*")
_APP_WIDE = ("update-strategy", "allow-tags", "ignore-tags", "force-update", "platforms")


@dataclass(frozen=True, slots=True)
class Image:
    """One image of an Application: where its tag lives and the policy that moves it."""

    alias: str
    name: str  # the image name the registry is asked about (no tag)
    policy: str  # our policy string
    force: bool = False
    helm_name: str = "image.name"
    helm_tag: str = "image.tag"
    helm_spec: str = ""
    kustomize_name: str = ""


@dataclass(frozen=True, slots=True)
class Source:
    """One ``spec.source`` (or ``spec.sources[]`` entry) of an Application."""

    repo_url: str
    path: str
    kind: str  # "kustomize", "helm" or "" (decided from the files)
    helm_parameters: tuple[tuple[str, str], ...] = ()
    value_files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class App:
    """An Application under Image Updater, as the write stage needs it."""

    name: str
    namespace: str
    where: str  # file:line of the Application
    sources: tuple[Source, ...]
    method: str  # write-back-method
    target: str  # write-back-target ('' = the default override file)
    repository: str  # git-repository, '' = the source's repoURL
    images: tuple[Image, ...]


def metadata_map(document: dict[str, Any], key: str) -> dict[str, str]:
    """``metadata.labels`` or ``metadata.annotations`` of an object, as strings."""
    metadata = _dict(document.get("metadata"))
    return {str(k): str(v) for k, v in _dict(metadata.get(key)).items()}


def read_sources(spec: dict[str, Any]) -> tuple[Source, ...]:
    """``spec.source`` or ``spec.sources[]``, in order (a Helm chart repository has no path)."""
    found = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    found += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    out = []
    for source in found:
        helm = _dict(source.get("helm"))
        kind = "kustomize" if "kustomize" in source else "helm" if "helm" in source else ""
        parameters = tuple(
            (str(p.get("name")), str(p.get("value", "")))
            for p in helm.get("parameters") or []
            if isinstance(p, dict) and p.get("name")
        )
        files = tuple(str(f) for f in helm.get("valueFiles") or [] if isinstance(f, str))
        path = source.get("path")
        out.append(
            Source(str(source.get("repoURL") or ""), str(path or ""), kind, parameters, files)
        )
    return tuple(out)


def from_annotations(
    name: str, namespace: str, where: str, spec: dict[str, Any], annotations: dict[str, str]
) -> App | None:
    """The App an annotated Application describes, None without ``image-list``."""
    image_list = annotations.get(PREFIX + "image-list")
    if image_list is None:
        return None
    images = []
    for alias, image, constraint in parse_image_list(name, image_list):
        key = alias.replace("/", "_")

        def option(suffix: str, key: str = key) -> str | None:
            found = annotations.get(f"{PREFIX}{key}.{suffix}") if key else None
            if found is None and suffix in _APP_WIDE:
                found = annotations.get(PREFIX + suffix)
            return found

        settings = {
            "strategy": option("update-strategy") or "semver",
            "allow_tags": option("allow-tags"),
            "ignore_tags": _split(option("ignore-tags")),
            "platforms": _split(option("platforms")),
        }
        policy = argo_policy(name, alias or image, constraint, **settings)  # type: ignore[arg-type]
        images.append(
            Image(
                alias,
                image,
                policy,
                (option("force-update") or "").lower() == "true",
                option("helm.image-name") or "image.name",
                option("helm.image-tag") or "image.tag",
                option("helm.image-spec") or "",
                option("kustomize.image-name") or "",
            )
        )
    return App(
        name,
        namespace,
        where,
        read_sources(spec),
        annotations.get(PREFIX + "write-back-method", "argocd"),
        annotations.get(PREFIX + "write-back-target", ""),
        annotations.get(PREFIX + "git-repository", ""),
        tuple(images),
    )


def parse_image_list(app: str, text: str) -> list[tuple[str, str, str | None]]:
    """``[<alias>=]<image>[:<constraint>]`` items as (alias, name, constraint)."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        alias, equals, image = item.partition("=")
        if not equals:
            alias, image = "", item
        elif not _ALIAS.fullmatch(alias.strip()):
            raise ManifestError(
                f"Application {app}: image-list item {item!r}: alias {alias!r} is malformed;"
                " use letters, digits, '-', '_' or '.' before the '='"
            )
        out.append((alias.strip(), *split_image(app, item, image.strip())))
    return out


def split_image(app: str, item: str, image: str) -> tuple[str, str | None]:
    """``name[:constraint]``: the constraint is what follows ':' after the last '/'."""
    slash = image.rfind("/")
    colon = image.find(":", slash + 1)
    name, constraint = (image, None) if colon < 0 else (image[:colon], image[colon + 1 :] or None)
    try:
        ref = parse_reference(name)
    except ReferenceError_ as exc:
        raise ManifestError(f"Application {app}: image-list item {item!r}: {exc}") from exc
    if ref.tag is not None or ref.digest is not None:
        raise ManifestError(f"Application {app}: image-list item {item!r} is not name[:constraint]")
    return name, constraint


def argo_policy(
    app: str,
    image: str,
    constraint: str | None,
    *,
    strategy: str,
    allow_tags: str | None,
    ignore_tags: tuple[str, ...],
    platforms: tuple[str, ...],
) -> str:
    """Our policy string for Argo's settings, or ManifestError naming the Application."""
    try:
        policy = policies.from_argo(
            strategy,
            constraint,
            allow_tags=allow_tags,
            ignore_tags=ignore_tags,
            platform=platforms[0] if platforms else None,
        )
    except policies.PolicyError as exc:
        raise ManifestError(f"Application {app} image {image}: {exc}") from exc
    return policy.text


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
