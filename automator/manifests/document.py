"""Reading one YAML file into node trees with character positions, and nothing more.

Only ``ruamel.yaml.cyaml.CSafeLoader`` (libyaml) is used: it is about 25 times
faster than a round-trip load, it accepts tabs as separators, and its marks are
character offsets into the text it was given. Nodes are composed, never
constructed, so aliases stay shared nodes (no billion-laughs expansion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.errors import ManifestError

try:
    from ruamel.yaml.cyaml import CSafeLoader
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ManifestError(
        "ruamel.yaml's C loader (libyaml) is missing; install it with "
        "'pip install ruamel.yaml.clib' (or ruamel.yaml.clibz)"
    ) from exc

BOM = "\ufeff"
STR_TAG = "tag:yaml.org,2002:str"
MAX_DEPTH = 1000  # libyaml recurses in C: far deeper nesting crashes the process
_DEEP_INDENT = re.compile(rf"^[ \t?:-]{{{MAX_DEPTH},}}", re.MULTILINE)
_BRACKETS = re.compile(r"[\[\]{}]")
# a node's start mark includes its properties (&anchor, !tag); the value starts after them
_PROPERTIES = re.compile(r"(?:(?:&[^\s,\[\]{}]+|![^\s,\[\]{}]*)[ \t]+)+")


@dataclass(frozen=True, slots=True)
class Text:
    """A decoded file: the BOM-less text and whether a BOM was in front of it."""

    text: str
    bom: bool


def decode(path: str, data: bytes) -> Text:
    """Decode UTF-8 ``data``, or raise ManifestError saying why it is not YAML text."""
    if b"\x00" in data[:8192]:
        raise ManifestError(f"{path}: binary content (NUL byte)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 (byte {exc.start})") from exc
    if text.startswith(BOM):
        return Text(text[1:], True)
    return Text(text, False)


def compose(path: str, text: str) -> list[Node]:
    """Every document of ``text`` as a node tree (empty documents are dropped)."""
    _check_depth(path, text)
    loader: Any = CSafeLoader(text)
    documents: list[Node] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                documents.append(node)
    except Exception as exc:  # libyaml raises several unrelated types
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        hint = "; a Helm/Go template ({{ }}) is not YAML" if "{{" in text else ""
        raise ManifestError(f"{where}: invalid YAML: {problem}{hint}") from exc
    finally:
        loader.dispose()
    return documents


def compose_one(text: str) -> Node | None:
    """The single document of a short trusted snippet, or None if it does not parse."""
    loader: Any = CSafeLoader(text)
    try:
        node: Node | None = loader.get_single_node()
    except Exception:  # any parse problem is the answer
        return None
    finally:
        loader.dispose()
    return node


def _check_depth(path: str, text: str) -> None:
    """Refuse nesting so deep that libyaml's recursive composer could crash."""
    if _DEEP_INDENT.search(text):
        raise ManifestError(f"{path}: nesting deeper than {MAX_DEPTH} levels")
    if text.count("[") + text.count("{") < MAX_DEPTH:
        return
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            raise ManifestError(f"{path}: nesting deeper than {MAX_DEPTH} levels")


def value_start(text: str, node: Node) -> int:
    """Offset of the node's value, past any ``&anchor`` / ``!tag`` in front of it."""
    start: int = node.start_mark.index
    match = _PROPERTIES.match(text, start, node.end_mark.index)
    return match.end() if match else start


def mapping_get(node: Node | None, key: str) -> Node | None:
    """The value under scalar key ``key`` in a mapping node (last one wins, as in YAML loaders)."""
    if not isinstance(node, MappingNode):
        return None
    found = None
    for key_node, value in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            found = value
    return found


def scalar_get(node: Node | None, key: str) -> str | None:
    """The string under ``key`` when it is a scalar, else None."""
    value = mapping_get(node, key)
    return value.value if isinstance(value, ScalarNode) else None


def path_get(node: Node | None, *keys: str) -> Node | None:
    found: Node | None = node
    for key in keys:
        found = mapping_get(found, key)
    return found


def template_key(node: Node) -> Node | None:
    """A mapping key that is itself a collection: ``{{ x }}`` parsed as YAML."""
    stack = [node]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, MappingNode):
            for key, value in current.value:
                if not isinstance(key, ScalarNode):
                    found: Node = key
                    return found
                stack.append(value)
        elif isinstance(current, SequenceNode):
            stack.extend(current.value)
    return None


def plain_data(node: Node | None, budget: int = 2000) -> Any:
    """A small subtree as Python data, scalars kept as strings (for Flux objects)."""
    if budget <= 0 or node is None:
        return None
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, SequenceNode):
        return [plain_data(item, budget // 2) for item in node.value[:100]]
    if isinstance(node, MappingNode):
        return {
            key.value: plain_data(value, budget // 2)
            for key, value in node.value[:100]
            if isinstance(key, ScalarNode)
        }
    return None
