"""Finding image Sites in YAML, and editing them byte-exactly.

Walking-skeleton scope: workload annotations ``automator.dev/policy.<container>``
and ``automator.dev/policy`` on pod-template kinds; plain or quoted ``image:``
scalars; a splice editor that changes only the characters of the scalar.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.cyaml import CSafeLoader
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.errors import EditError, ReferenceError_
from automator.model import Change, Part, Site, Skip
from automator.reference import parse_reference

ANNOTATION = "automator.dev/policy"


@dataclass(frozen=True, slots=True)
class ScanResult:
    sites: tuple[Site, ...]
    skipped: tuple[Skip, ...]
    files_scanned: int


def is_manifest_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith((".yaml", ".yml")) or name == "kustomization"


def _get(node: Node | None, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                found: Node = v
                return found
    return None


def _path(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = _get(node, key)
    return node


def _documents(text: str) -> list[Any]:
    loader = CSafeLoader(text)
    docs = []
    try:
        while loader.check_node():
            docs.append(loader.get_node())
    finally:
        loader.dispose()
    return docs


def scan_files(files: Iterable[tuple[str, bytes]], *, max_bytes: int = 5 << 20) -> ScanResult:
    sites: list[Site] = []
    skipped: list[Skip] = []
    count = 0
    for path, data in files:
        if not is_manifest_path(path):
            continue
        count += 1
        try:
            docs = _documents(data.decode("utf-8").removeprefix("\ufeff"))
        except Exception as exc:
            skipped.append(Skip(path, f"not valid YAML ({type(exc).__name__})"))
            continue
        for doc in docs:
            sites.extend(_workload_sites(path, doc, skipped))
    return ScanResult(tuple(sites), tuple(skipped), count)


def _workload_sites(path: str, doc: Node, skipped: list[Skip]) -> Iterable[Site]:
    annotations = _path(doc, "metadata", "annotations")
    if not isinstance(annotations, MappingNode):
        return
    policies = {
        k.value: v.value
        for k, v in annotations.value
        if isinstance(k, ScalarNode)
        and isinstance(v, ScalarNode)
        and (k.value == ANNOTATION or k.value.startswith(ANNOTATION + "."))
    }
    if not policies:
        return
    kind = _get(doc, "kind")
    name = _path(doc, "metadata", "name")
    workload = f"{getattr(kind, 'value', '?')}/{getattr(name, 'value', '?')}"
    containers = _path(doc, "spec", "template", "spec", "containers")
    if not isinstance(containers, SequenceNode):
        return
    for container in containers.value:
        cname = getattr(_get(container, "name"), "value", "")
        policy = policies.get(f"{ANNOTATION}.{cname}", policies.get(ANNOTATION))
        image = _get(container, "image")
        if policy is None or not isinstance(image, ScalarNode):
            continue
        try:
            ref = parse_reference(image.value)
        except ReferenceError_ as exc:
            skipped.append(Skip(f"{path}:{image.start_mark.line + 1}", str(exc)))
            continue
        yield Site(
            file=path,
            line=image.start_mark.line + 1,
            start=image.start_mark.index,
            end=image.end_mark.index,
            part=Part.REFERENCE,
            value=image.value,
            image=ref,
            policy=policy,
            origin="annotation",
            workload=workload,
            container=cname,
        )


def _render(old_text: str, value: str) -> str:
    if old_text.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if old_text.startswith('"'):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def edit_file(path: str, data: bytes, changes: Sequence[Change]) -> bytes:
    text = data.decode("utf-8")
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text.removeprefix(bom)
    for change in sorted(changes, key=lambda c: c.site.start, reverse=True):
        site = change.site
        old_text = text[site.start : site.end]
        if "\n" in old_text:
            raise EditError(f"{site.where}: the scalar spans lines; edit it by hand")
        text = text[: site.start] + _render(old_text, change.new) + text[site.end :]
    return (bom + text).encode("utf-8")


def check_report(result: ScanResult) -> list[str]:
    lines = [f"{s.where}  {s.image}  {s.policy}  ({s.origin})" for s in result.sites]
    lines += [f"{s.where}  SKIPPED  {s.reason}" for s in result.skipped]
    return lines
