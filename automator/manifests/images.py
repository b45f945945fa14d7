"""Which part of an image a scalar holds, and the whole reference it stands for.

A tag alone says nothing about the image: the name comes from its siblings, as
Helm values (``registry``/``repository``/``tag``/``digest``, Flux v1's
``image``+``tag``) and kustomize ``images:`` entries (``name``/``newName``/
``newTag``/``digest``) lay them out.
"""

from __future__ import annotations

from automator.errors import ManifestError, ReferenceError_
from automator.manifests.document import scalar_get
from automator.manifests.walk import Scalar
from automator.model import Part
from automator.reference import ImageRef, parse_reference

_PART_BY_KEY = {
    "tag": Part.TAG,
    "newTag": Part.TAG,
    "repository": Part.NAME,
    "newName": Part.NAME,
    "digest": Part.DIGEST,
}


def part_for(scalar: Scalar) -> Part:
    """The part a scalar holds, judged by its key and siblings."""
    if scalar.key in _PART_BY_KEY:
        return _PART_BY_KEY[scalar.key]
    if scalar.key == "name" and scalar.slot == "images":
        return Part.NAME
    image_without_tag = not any(char in scalar.value for char in ":@")
    if scalar.key == "image" and image_without_tag and scalar_get(scalar.parent, "tag") is not None:
        return Part.NAME
    return Part.REFERENCE


def image_for(scalar: Scalar, part: Part) -> ImageRef:
    """The whole reference ``scalar`` stands for, or ManifestError saying what is missing."""
    value = scalar.value
    parent = scalar.parent
    if part is Part.REFERENCE:
        text = value
    else:
        name = value if part is Part.NAME else sibling_name(scalar)
        if not name:
            raise ManifestError(
                f"the {part.value} in '{scalar.key}' has no sibling that names the image"
                " (repository, newName, image or name)"
            )
        tag = value if part is Part.TAG else _sibling(parent, "tag", "newTag")
        digest = value if part is Part.DIGEST else _sibling(parent, "digest")
        text = (
            name
            + (f":{tag}" if tag else "")
            + (f"@{digest}" if digest and "@" not in (tag or "") else "")
        )
    try:
        return parse_reference(text)
    except ReferenceError_ as exc:
        raise ManifestError(str(exc)) from exc


def flux_image_for(scalar: Scalar, part: Part, repository: str) -> ImageRef:
    """The image a Flux ``$imagepolicy`` field stands for: ``repository`` (the
    ImageRepository's ``spec.image``) at whatever tag and digest the field, or for a
    name or digest its siblings, hold. Parts that do not parse are left out: Flux
    overwrites the field with the policy's result whatever it holds."""
    value = scalar.value
    tag = digest = None
    if part is Part.REFERENCE:
        try:
            held = parse_reference(value)
        except ReferenceError_:
            held = None
        tag, digest = (held.tag, held.digest) if held is not None else (None, None)
    elif part is Part.TAG:
        tag, _, digest = value.partition("@")
    else:
        tag = _sibling(scalar.parent, "tag", "newTag")
        digest = value if part is Part.DIGEST else _sibling(scalar.parent, "digest", "newDigest")
    try:
        image = parse_reference(repository)
    except ReferenceError_ as exc:
        raise ManifestError(f"ImageRepository image {repository!r}: {exc}") from exc
    for held_tag, held_digest in ((tag, digest), (tag, None), (None, None)):
        try:
            return image.with_tag(held_tag, held_digest) if held_tag else _at(image, held_digest)
        except ReferenceError_:
            continue
    return image


def _at(image: ImageRef, digest: str | None) -> ImageRef:
    return parse_reference(f"{image.name}@{digest}") if digest else image


def sibling_name(scalar: Scalar) -> str | None:
    """The image name the siblings of ``scalar`` spell, registry included."""
    parent = scalar.parent
    name = _sibling(parent, "newName", "repository") or _bare_name(_sibling(parent, "image"))
    if name is None and scalar.slot == "images":
        name = _sibling(parent, "name")
    if name is None:
        return None
    registry = _sibling(parent, "registry")
    if registry and not name.startswith(registry.rstrip("/") + "/"):
        name = f"{registry.rstrip('/')}/{name}"
    return name


def _bare_name(image: str | None) -> str | None:
    """``image`` when it names a repository without tag or digest (Flux v1 image+tag)."""
    try:
        ref = parse_reference(image or "")
    except ReferenceError_:
        return None
    return image if ref.tag is None and ref.digest is None else None


def _sibling(parent: object, *keys: str) -> str | None:
    for key in keys:
        value = scalar_get(parent, key)  # type: ignore[arg-type]
        if value:
            return value
    return None
