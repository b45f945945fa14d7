"""Argo CD's parameter-override file (``.argocd-source-<app>.yaml``), as Argo writes it.

Image Updater marshals it with yaml.v3, indent 2, compact sequences::

    kustomize:                        helm:
      images:                           parameters:
      - ghcr.io/acme/web:1.2.0          - name: image.name
                                          value: ghcr.io/acme/web
                                          forcestring: true
                                        - name: image.tag
                                          value: 1.2.0
                                          forcestring: true

A new file is written in that form (helm parameters sorted by name, as Argo sorts
them). Entries missing from an existing file are appended after the last item of
its block sequence, every other byte kept; the result is parsed again to prove it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ruamel.yaml.nodes import SequenceNode

from automator.errors import EditError, ManifestError
from automator.manifests.document import BOM, compose, decode, path_get, scalar_get
from automator.manifests.quoting import render
from automator.model import Change

_LISTS = {"kustomize": ("kustomize", "images"), "helm": ("helm", "parameters")}


def entry_values(change: Change) -> list[tuple[str, str]]:
    """(parameter name, value) pairs for a helm entry; ('', image) for kustomize."""
    entry = change.site.create
    assert entry is not None
    image = change.image
    if entry.kind == "kustomize":
        return [("", entry.prefix + str(image))]
    if len(entry.keys) == 1:
        return [(entry.keys[0], str(image))]
    tag = (image.tag or "") + (f"@{image.digest}" if image.digest else "")
    return [(entry.keys[0], image.name), (entry.keys[1], tag)]


def add_entries(path: str, data: bytes, changes: Sequence[Change]) -> bytes:
    """``data`` (b"" for a new file) with an entry for every change, or EditError."""
    kinds = {c.site.create.kind for c in changes if c.site.create is not None}
    if len(kinds) != 1:
        raise EditError(f"{path}: kustomize and helm entries in one override file; not written")
    (kind,) = kinds
    pairs = sorted({pair for change in changes for pair in entry_values(change)})
    try:
        decoded = decode(path, data)
    except ManifestError as exc:
        raise EditError(str(exc)) from exc
    text = decoded.text
    if not text.strip():
        outer, inner = _LISTS[kind]
        new = f"{outer}:\n  {inner}:\n" + "".join(
            _item(kind, name, value, "  ", "\n") for name, value in pairs
        )
        before = 0
    else:
        new, before = _append(path, text, kind, pairs)
    _verify(path, new, kind, before + len(pairs))
    return ((BOM if decoded.bom else "") + new).encode("utf-8")


def _item(kind: str, name: str, value: str, indent: str, eol: str) -> str:
    if kind == "kustomize":
        return f"{indent}- {render(value, '', False)}{eol}"
    return (
        f"{indent}- name: {render(name, '', False)}{eol}"
        f"{indent}  value: {render(value, '', False)}{eol}"
        f"{indent}  forcestring: true{eol}"
    )


def _append(path: str, text: str, kind: str, pairs: list[tuple[str, str]]) -> tuple[str, int]:
    """Append items after the last one of the file's block sequence: (text, items before)."""
    try:
        documents = compose(path, text)
    except ManifestError as exc:
        raise EditError(str(exc)) from exc
    found = path_get(documents[0], *_LISTS[kind]) if len(documents) == 1 else None
    if not isinstance(found, SequenceNode) or found.flow_style or not found.value:
        raise EditError(
            f"{path}: no block list {'.'.join(_LISTS[kind])} to add to;"
            " delete the file and automator writes it"
        )
    last = found.value[-1]
    end = last.end_mark.index
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    line_end = text.find("\n", end)
    eol = "\r\n" if "\r\n" in text else "\n"
    at = len(text) if line_end < 0 else line_end + 1
    head = text[:at] if line_end >= 0 else text + eol
    indent = " " * found.start_mark.column
    items = "".join(_item(kind, name, value, indent, eol) for name, value in pairs)
    return head + items + text[at:], len(found.value)


def _verify(path: str, text: str, kind: str, count: int) -> None:
    try:
        documents = compose(path, text)
    except ManifestError as exc:
        raise EditError(f"{exc}; the override entry was not written") from exc
    found = path_get(documents[0], *_LISTS[kind]) if documents else None
    items = found.value if isinstance(found, SequenceNode) else []
    if len(items) != count or (
        kind == "helm" and any(scalar_get(i, "name") is None for i in items)
    ):
        raise EditError(f"{path}: the override entry would not read back; not written")
