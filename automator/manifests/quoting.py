"""Writing a string value back in a scalar's own style, quoting only when needed.

A plain value stays plain only when YAML 1.2 (ruamel, go-yaml v3) *and* YAML 1.1
(go-yaml v2, ``sigs.k8s.io/yaml`` as used by kubectl and Helm) both read it back as
the same string: ``1.10``, ``yes``, ``on``, ``0755``, ``null``, ``1e3`` and ``""``
get double quotes, ``v1.2.3`` and ``8.6.2`` stay plain.
"""

from __future__ import annotations

from functools import lru_cache

from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from automator.errors import EditError
from automator.manifests.document import STR_TAG, compose_one

_RESOLVERS = (VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


def render(value: str, style: str, flow: bool) -> str:
    """``value`` as YAML text in ``style`` ('' plain, "'" or '"'), quoting a plain one if needed."""
    if any(ord(char) < 0x20 or char == "\x7f" for char in value):
        raise EditError(f"{value[:40]!r}: control characters are never written into YAML")
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "":
        if plain_is_safe(value, flow):
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise EditError(f"a {style!r} block scalar cannot be edited in place")


@lru_cache(maxsize=4096)
def plain_is_safe(value: str, flow: bool) -> bool:
    """True when ``value`` written plain reads back as this very string in YAML 1.1 and 1.2."""
    if not value or value != value.strip() or value[0] in _INDICATORS:
        return False
    if ": " in value or " #" in value or value.endswith(":"):
        return False
    if flow and any(char in value for char in ",[]{}"):
        return False
    for resolver in _RESOLVERS:
        if resolver.resolve(ScalarNode, value, (True, False)) != STR_TAG:
            return False
    return _reads_back(value, flow)


def _reads_back(value: str, flow: bool) -> bool:
    node = compose_one(f"[{value}]" if flow else f"k: {value}\n")
    if node is None:
        return False
    scalar = node.value[0] if flow else node.value[0][1]
    return isinstance(scalar, ScalarNode) and scalar.value == value and scalar.style in ("", None)
