"""Where Argo CD Image Updater writes an image, as Sites.

    kustomization[:<dir>]   the ``images:`` entry of that kustomization (``newTag``)
    helmvalues:<file>       the named keys of that values file (tag, or the spec)
    (default)               ``.argocd-source-<app>.yaml`` in the source path: an entry
                            of ``kustomize.images`` or ``helm.parameters``; a missing
                            entry (or file) becomes a Site with ``create`` set

Paths are relative to the source path, or to the repo root with a leading ``/``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

import policies
from automator.errors import ManifestError, ReferenceError_
from automator.manifests.argo.settings import App, Image, Source
from automator.manifests.document import compose, decode, mapping_get, path_get, scalar_get
from automator.manifests.locate import editable_problem, image_scalars
from automator.manifests.walk import Scalar, scalars
from automator.model import NewEntry, Part, Site
from automator.reference import parse_reference

Read = Callable[[str], bytes | None]
OVERRIDE = ".argocd-source-{}.yaml"
_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True, slots=True)
class Parsed:
    """One target file: its path, its scalars by node, and its first document."""

    path: str
    root: Node | None
    by_node: dict[int, Scalar]


def sites_for(
    app: App, source: Source, image: Image, read: Read, paths: Sequence[str] = ()
) -> Site:
    """The Site Argo would write ``image`` of ``app`` to, or ManifestError saying why not.

    ``paths`` are the repo's manifest files: where the current tag of a new override
    entry is looked for when no kustomization or values file names it.
    """
    target = app.target.strip()
    if target.startswith("kustomization"):
        base = _relative(source.path, target.partition(":")[2] or ".")
        return _kustomization(app, image, base, read)
    if target.startswith("helmvalues"):
        file = _relative(source.path, target.partition(":")[2] or "values.yaml")
        return _helm_values(app, image, file, read)
    if target:
        raise ManifestError(
            f"Application {app.name}: write-back-target {target!r} is not"
            " kustomization[:<dir>] or helmvalues:<file>"
        )
    return _override(app, source, image, read, paths)


def _relative(source_path: str, path: str) -> str:
    """``path`` from the repo root: relative to the source path, or rooted with '/'."""
    joined = posixpath.normpath(path[1:] if path.startswith("/") else f"{source_path}/{path}")
    if joined.startswith(("/", "..")):
        raise ManifestError(f"{path}: outside the repository; refused")
    return "" if joined == "." else joined


def _parse(path: str, read: Read) -> Parsed | None:
    data = read(path)
    if data is None:
        return None
    text = decode(path, data).text
    documents = compose(path, text)
    root = documents[0] if documents else None
    walked = scalars(path, text, root) if root is not None else []
    return Parsed(path, root, {id(s.node): s for s in walked})


def _site(
    parsed: Parsed, node: Node | None, part: Part, image: Image, app: App, name: str, **extra: str
) -> Site:
    scalar = parsed.by_node.get(id(node)) if isinstance(node, ScalarNode) else None
    if scalar is None:
        raise ManifestError(f"{parsed.path}: Application {app.name}: no scalar to write here")
    problem = editable_problem(scalar)
    if problem:
        raise ManifestError(f"{parsed.path}:{scalar.line}: {problem}")
    value = scalar.value
    if part is Part.TAG and image.policy.startswith("digest:") and "@" not in value:
        raise ManifestError(
            f"{parsed.path}:{scalar.line}: the digest strategy writes <tag>@<digest>;"
            f" write {value}@sha256:... here once by hand"
        )
    prefix = extra.get("prefix", "")
    text = value.removeprefix(prefix)
    try:
        ref = parse_reference(text if part is Part.REFERENCE else f"{name}:{text}")
    except ReferenceError_ as exc:
        raise ManifestError(f"{parsed.path}:{scalar.line}: {exc}") from exc
    return Site(
        parsed.path,
        scalar.line,
        scalar.start,
        scalar.end,
        part,
        value,
        ref,
        image.policy,
        "argocd",
        f"Application/{app.name}",
        image.alias,
        prefix,
    )


def _kustomization(app: App, image: Image, base: str, read: Read) -> Site:
    for name in _KUSTOMIZATIONS:
        parsed = _parse(posixpath.join(base, name) if base else name, read)
        if parsed is not None:
            break
    else:
        raise ManifestError(f"Application {app.name}: no kustomization.yaml in {base or '/'}")
    entry = _images_entry(parsed.root, image.kustomize_name or image.name)
    if entry is None:
        raise ManifestError(
            f"{parsed.path}: no images: entry named {image.kustomize_name or image.name};"
            " add one with newTag (Argo would add it)"
        )
    new_tag = mapping_get(entry, "newTag")
    if new_tag is None:
        raise ManifestError(f"{parsed.path}: the images: entry {image.name} has no newTag; add one")
    return _site(parsed, new_tag, Part.TAG, image, app, image.name)


def _images_entry(root: Node | None, name: str) -> MappingNode | None:
    entries = mapping_get(root, "images")
    for entry in entries.value if isinstance(entries, SequenceNode) else []:
        if isinstance(entry, MappingNode) and scalar_get(entry, "name") == name:
            return entry
    return None


def _helm_values(app: App, image: Image, file: str, read: Read) -> Site:
    parsed = _parse(file, read)
    if parsed is None:
        raise ManifestError(f"Application {app.name}: helm values file {file} is not in the repo")
    key = image.helm_spec or image.helm_tag
    node = value_at(parsed.root, key)
    if node is None:
        raise ManifestError(f"{file}: no key {key}; add it (Argo would add it)")
    part = Part.REFERENCE if image.helm_spec else Part.TAG
    return _site(parsed, node, part, image, app, image.name)


def value_at(root: Node | None, key: str) -> Node | None:
    """The node at a Helm parameter path: ``a.b.c``, ``a.list[1].image``."""
    node = root
    for part in key.replace("]", "").split("."):
        name, _, index = part.partition("[")
        node = mapping_get(node, name) if name else node
        if index:
            items = node.value if isinstance(node, SequenceNode) else []
            node = items[int(index)] if index.isdigit() and int(index) < len(items) else None
    return node


def override_path(app: App, source: Source) -> str:
    """Argo's default target: ``.argocd-source-<app>.yaml`` (``<ns>_<app>`` off argocd)."""
    name = app.name if app.namespace in ("", "argocd") else f"{app.namespace}_{app.name}"
    return _relative(source.path, OVERRIDE.format(name))


def _override(app: App, source: Source, image: Image, read: Read, paths: Sequence[str]) -> Site:
    kind = _kind(source, read)
    path = override_path(app, source)
    parsed = _parse(path, read)
    if kind == "kustomize":
        prefix = f"{image.kustomize_name}=" if image.kustomize_name else ""
        for item in _items(parsed, "kustomize", "images"):
            value = item.value if isinstance(item, ScalarNode) else ""
            own, _, ref = value.rpartition("=")
            if parsed is not None and _same_image(ref, image.name):
                own = f"{own}=" if own else ""
                return _site(parsed, item, Part.REFERENCE, image, app, image.name, prefix=own)
        current = _kustomize_current(source, image, read) or _deployed(source, image, read, paths)
        entry = NewEntry("kustomize", (), prefix)
    else:
        keys = (image.helm_spec,) if image.helm_spec else (image.helm_name, image.helm_tag)
        for item in _items(parsed, "helm", "parameters"):
            if scalar_get(item, "name") == keys[-1]:
                assert parsed is not None
                part = Part.REFERENCE if image.helm_spec else Part.TAG
                return _site(parsed, mapping_get(item, "value"), part, image, app, image.name)
        current = _helm_current(source, image, read)
        entry = NewEntry("helm", keys)
    if current is None and not image.force:
        raise ManifestError(
            f"Application {app.name}: the current tag of {image.name} is not in the repo;"
            " set force-update to write it anyway"
        )
    ref = parse_reference(f"{image.name}:{current}" if current else image.name)
    return Site(
        path,
        0,
        0,
        0,
        Part.REFERENCE,
        "",
        ref,
        image.policy,
        "argocd",
        f"Application/{app.name}",
        image.alias,
        create=entry,
    )


def _same_image(reference: str, name: str) -> bool:
    """One repository (``docker.io`` spelt or not), as Argo's sameImageNameAndRegistry."""
    try:
        return parse_reference(reference).canonical_name == parse_reference(name).canonical_name
    except ReferenceError_:
        return False


def _kind(source: Source, read: Read) -> str:
    if source.kind:
        return source.kind
    if any(read(posixpath.join(source.path, name)) is not None for name in _KUSTOMIZATIONS):
        return "kustomize"
    if read(posixpath.join(source.path, "Chart.yaml")) is not None:
        return "helm"
    raise ManifestError(f"source path {source.path or '/'} is neither a kustomization nor a chart")


def _items(parsed: Parsed | None, *keys: str) -> list[Node]:
    found = path_get(parsed.root, *keys) if parsed is not None else None
    return list(found.value) if isinstance(found, SequenceNode) else []


def _kustomize_current(source: Source, image: Image, read: Read) -> str | None:
    for name in _KUSTOMIZATIONS:
        parsed = _parse(posixpath.join(source.path, name), read)
        entry = _images_entry(parsed.root, image.kustomize_name or image.name) if parsed else None
        if entry is not None:
            return scalar_get(entry, "newTag")
    return None


def _deployed(source: Source, image: Image, read: Read, paths: Sequence[str]) -> str | None:
    """The tag a manifest under the source path runs ``image`` at (the highest, if several)."""
    prefix = f"{source.path}/" if source.path else ""
    wanted = parse_reference(image.name).canonical_name
    tags: set[str] = set()
    word = image.name.rsplit("/", 1)[-1].encode()  # cheap: skip files that cannot name it
    for path in paths:
        data = read(path) if path.startswith(prefix) else None
        if data is None or word not in data:
            continue
        try:
            text = decode(path, data).text
            found = image_scalars(path, text, compose(path, text))
        except ManifestError:
            continue
        tags.update(
            site.image.tag
            for site in found
            if site.image.canonical_name == wanted and site.image.tag is not None
        )
    return max(tags, key=_version_key) if tags else None


def _version_key(tag: str) -> tuple[int, object, str]:
    try:
        return (1, policies.parse_version(tag), tag)
    except policies.VersionError:
        return (0, 0, tag)


def _helm_current(source: Source, image: Image, read: Read) -> str | None:
    key = image.helm_spec or image.helm_tag
    value = dict(source.helm_parameters).get(key)
    for file in (*reversed(source.value_files), "values.yaml"):
        if value is not None:
            break
        parsed = _parse(_relative(source.path, file), read)
        node = value_at(parsed.root, key) if parsed is not None else None
        value = node.value if isinstance(node, ScalarNode) else None
    if value and image.helm_spec:
        return parse_reference(value).tag
    return value or None
