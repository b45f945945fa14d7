"""``Chart.lock``'s digest, computed as Helm computes it.

Helm (``internal/resolver.HashReq``) hashes ``json.Marshal([2][]*chart.Dependency{req,
lock})``: the dependencies of ``Chart.yaml`` and the locked ones, as Go's
``encoding/json`` writes the ``Dependency`` struct (fields in struct order, empty ones
left out, ``<``, ``>``, ``&`` escaped), then ``"sha256:" + hex(sha256(...))``.
``helm dependency build`` refuses a lock whose digest differs.

Only what is reproduced exactly is accepted: string fields, ``tags`` (a list of
strings) and ``enabled`` (a boolean). ``import-values`` / ``export-values`` (any YAML)
and control characters are refused (``LockError``), so a lock is never rewritten with
a digest Helm would not compute.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

# chart.Dependency's JSON fields, in struct order; all but name and repository omitempty
FIELDS: Final = ("name", "version", "repository", "condition", "tags", "enabled", "alias")
_ALWAYS: Final = ("name", "repository")
_REFUSED: Final = ("import-values", "export-values")


class LockError(ValueError):
    """A dependency that cannot be marshalled exactly as Helm would."""


def go_string(text: str) -> str:
    """A JSON string as Go's ``encoding/json`` writes it (HTML-safe escaping)."""
    if any(ord(c) < 0x20 or c == "\x7f" for c in text):
        raise LockError(f"{text[:40]!r}: control characters")
    out = json.dumps(text, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        out = out.replace(char, escaped)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def marshal(dependency: Mapping[str, Any]) -> str:
    """One ``chart.Dependency`` as Go marshals it; LockError for what cannot be matched."""
    unknown = set(dependency) - set(FIELDS)
    if unknown & set(_REFUSED):
        raise LockError(f"dependency {dependency.get('name')!r} has {sorted(unknown)[0]}")
    parts = []
    for key in FIELDS:
        value = dependency.get(key)
        if key in _ALWAYS:
            value = "" if value is None else value
        elif value in (None, "", False, []):
            continue  # omitempty
        if key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise LockError(f"dependency {dependency.get('name')!r}: tags is not a list")
            rendered = "[" + ",".join(go_string(t) for t in value) + "]"
        elif key == "enabled":
            if value is not True:
                raise LockError(f"dependency {dependency.get('name')!r}: enabled is not a bool")
            rendered = "true"
        else:
            if not isinstance(value, str):
                raise LockError(f"dependency {dependency.get('name')!r}: {key} is not a string")
            rendered = go_string(value)
        parts.append(f'"{key}":{rendered}')
    return "{" + ",".join(parts) + "}"


def lock_digest(requested: Sequence[Mapping[str, Any]], locked: Sequence[Mapping[str, Any]]) -> str:
    """``sha256:<hex>`` of ``[requested, locked]`` as Helm's ``HashReq``."""
    text = "[[" + ",".join(map(marshal, requested)) + "],["
    text += ",".join(map(marshal, locked)) + "]]"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
