"""The functions, printing and truth rules of ``automator.write.gotemplate``.

Go's built-ins (``and or not len index print printf println eq ne lt le gt ge``)
and the hermetic sprig functions Flux message templates use most (string case and
trimming, ``replace``, ``join``, ``contains``, ``hasPrefix``/``hasSuffix``,
``default``, ``quote``, ``list``, ``first``/``last``, ``uniq``, ``sortAlpha``,
``indent``/``nindent``, ``trunc``, ``toString``, ``empty``, ``ternary``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

_VERB = re.compile(r"%([-+# 0]*\d*(?:\.\d+)?)([vsdqtfx%])")


def truthy(value: Any) -> bool:
    """Go's truth: false, 0, nil, and empty strings, slices and maps are false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def go_print(value: Any) -> str:
    """What ``{{ value }}`` prints (fmt's %v)."""
    if value is None:
        return "<no value>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_print(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{go_print(k)}:{go_print(v)}" for k, v in value.items())
        return f"map[{inner}]"
    return str(value)


def _printf(fmt: str, *args: Any) -> str:
    queue = list(args)

    def one(match: re.Match[str]) -> str:
        flags, verb = match.group(1), match.group(2)
        if verb == "%":
            return "%"
        if not queue:
            return f"%!{verb}(MISSING)"
        value = queue.pop(0)
        if verb == "q":
            return '"' + go_print(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        if verb in "dfx" and isinstance(value, (int, float)):
            return ("%" + flags + verb) % value
        text = go_print(value)
        return ("%" + flags + "s") % text if flags else text

    return _VERB.sub(one, fmt)


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else value[key]
    return value


def _compare(op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, b: Any) -> bool:
        return op(a, b)

    return compare


def _eq(a: Any, *others: Any) -> bool:
    return any(a == other for other in others)


def _and(*values: Any) -> Any:
    for value in values:
        if not truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if truthy(value):
            return value
    return values[-1]


def _default(fallback: Any, value: Any = None) -> Any:
    return value if truthy(value) else fallback


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _trunc(length: int, text: str) -> str:
    return text[:length] if length >= 0 else text[length:]


FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "and": _and,
    "or": _or,
    "not": lambda value: not truthy(value),
    "len": len,
    "index": _index,
    "print": lambda *args: "".join(go_print(a) for a in args),
    "println": lambda *args: " ".join(go_print(a) for a in args) + "\n",
    "printf": _printf,
    "eq": _eq,
    "ne": _compare(lambda a, b: a != b),
    "lt": _compare(lambda a, b: a < b),
    "le": _compare(lambda a, b: a <= b),
    "gt": _compare(lambda a, b: a > b),
    "ge": _compare(lambda a, b: a >= b),
    "lower": lambda s: go_print(s).lower(),
    "upper": lambda s: go_print(s).upper(),
    "title": lambda s: go_print(s).title(),
    "trim": lambda s: go_print(s).strip(),
    "trimPrefix": lambda prefix, s: go_print(s).removeprefix(prefix),
    "trimSuffix": lambda suffix, s: go_print(s).removesuffix(suffix),
    "trimAll": lambda chars, s: go_print(s).strip(chars),
    "replace": lambda old, new, s: go_print(s).replace(old, new),
    "join": lambda sep, items: sep.join(go_print(i) for i in items),
    "contains": lambda part, s: part in go_print(s),
    "hasPrefix": lambda prefix, s: go_print(s).startswith(prefix),
    "hasSuffix": lambda suffix, s: go_print(s).endswith(suffix),
    "default": _default,
    "quote": lambda *args: " ".join(f'"{go_print(a)}"' for a in args),
    "squote": lambda *args: " ".join(f"'{go_print(a)}'" for a in args),
    "list": lambda *args: list(args),
    "first": lambda items: items[0] if items else None,
    "last": lambda items: items[-1] if items else None,
    "uniq": lambda items: list(dict.fromkeys(items)),
    "sortAlpha": lambda items: sorted(go_print(i) for i in items),
    "indent": _indent,
    "nindent": lambda spaces, text: "\n" + _indent(spaces, text),
    "trunc": _trunc,
    "toString": go_print,
    "empty": lambda value: not truthy(value),
    "ternary": lambda yes, no, test: yes if truthy(test) else no,
}
