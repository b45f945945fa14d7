"""The v1 ``ImageUpdater`` resource: ``applicationRefs[].images[]`` read into Apps.

``commonUpdateSettings`` and ``writeBackConfig`` cascade image > applicationRef >
spec, as upstream documents. An applicationRef selects Applications found in the
repo by ``namePattern`` (a glob) and ``labelSelectors.matchLabels``; with
``useAnnotations: true`` the Application's own annotations are read instead.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from automator.errors import ManifestError
from automator.manifests.argo.settings import (
    App,
    Image,
    argo_policy,
    from_annotations,
    metadata_map,
    read_sources,
    split_image,
)

API_GROUP = "argocd-image-updater.argoproj.io/"


def apps_for(updater: dict[str, Any], applications: list[tuple[str, dict[str, Any]]]) -> list[App]:
    """Every App the ImageUpdater ``updater`` selects among ``applications`` (where, object)."""
    spec = _dict(updater.get("spec"))
    out = []
    for ref in spec.get("applicationRefs") or []:
        ref = _dict(ref)
        pattern = str(ref.get("namePattern") or "")
        wanted = _dict(_dict(ref.get("labelSelectors")).get("matchLabels"))
        for app_where, application in applications:
            metadata = _dict(application.get("metadata"))
            name = str(metadata.get("name") or "")
            labels = metadata_map(application, "labels")
            if not fnmatchcase(name, pattern) or any(
                labels.get(k) != str(v) for k, v in wanted.items()
            ):
                continue
            app_spec = _dict(application.get("spec"))
            namespace = str(metadata.get("namespace") or "")
            if str(ref.get("useAnnotations")).lower() == "true":
                annotations = metadata_map(application, "annotations")
                app = from_annotations(name, namespace, app_where, app_spec, annotations)
                if app is not None:
                    out.append(app)
                continue
            write = {**_write_back(spec), **_write_back(ref)}
            images = tuple(_image(name, spec, ref, _dict(i)) for i in ref.get("images") or [])
            app = App(
                name,
                namespace,
                app_where,
                read_sources(app_spec),
                write.get("method", "argocd"),
                write.get("target", ""),
                write.get("repository", ""),
                images,
            )
            out.append(app)
    return out


def _image(app: str, spec: dict[str, Any], ref: dict[str, Any], image: dict[str, Any]) -> Image:
    alias = str(image.get("alias") or "")
    item = str(image.get("imageName") or "")
    if not item:
        raise ManifestError(f"ImageUpdater for Application {app}: image {alias!r} has no imageName")
    name, constraint = split_image(app, item, item)
    settings: dict[str, Any] = {}
    for level in (spec, ref, image):
        settings.update(
            {k: v for k, v in _dict(level.get("commonUpdateSettings")).items() if v is not None}
        )
    policy = argo_policy(
        app,
        alias or name,
        constraint,
        strategy=str(settings.get("updateStrategy") or "semver"),
        allow_tags=settings.get("allowTags"),
        ignore_tags=tuple(str(t) for t in settings.get("ignoreTags") or []),
        platforms=tuple(str(p) for p in settings.get("platforms") or []),
    )
    targets = _dict(image.get("manifestTargets"))
    helm, kustomize = _dict(targets.get("helm")), _dict(targets.get("kustomize"))
    force = str(settings.get("forceUpdate", "false")).lower() == "true"
    return Image(
        alias,
        name,
        policy,
        force,
        str(helm.get("name") or "image.name"),
        str(helm.get("tag") or "image.tag"),
        str(helm.get("spec") or ""),
        str(kustomize.get("name") or ""),
    )


def _write_back(level: dict[str, Any]) -> dict[str, str]:
    config = _dict(level.get("writeBackConfig"))
    git = _dict(config.get("gitConfig"))
    out = {"method": config.get("method"), "target": git.get("writeBackTarget")}
    out["repository"] = git.get("repository")
    return {k: str(v) for k, v in out.items() if v}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
