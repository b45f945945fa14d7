"""A subset of Go's ``text/template``, enough for Flux ``messageTemplate``s.

Supported: text with ``{{ }}`` actions and ``{{-``/``-}}`` trimming, comments,
pipelines with ``|``, fields and niladic methods (``.Changed.FileChanges``,
``$change.NewValue``), variables (``$x :=``, ``$x =``, ``$``), string, raw-string,
number and boolean literals, parentheses, ``if``/``else if``/``else``,
``range`` (lists and maps, with ``$k, $v :=`` and ``else``), ``with`` and ``end``,
and the functions in ``FUNCTIONS`` (Go's built-ins and the common hermetic sprig
ones Flux adds). ``define``, ``template``, ``block``, ``break`` and ``continue`` are
not. Anything else is a ``TemplateError`` naming the position as Go does:
``template: commit message:3:5: function "sha256sum" not supported``.

Values are Python objects: dicts are Go maps (ranged in sorted key order, or in
insertion order when the keys do not sort), lists are slices, and other objects
expose their Go fields as attributes; a callable attribute is a method.

One module of a little over 300 lines: the lexer, parser and evaluator of one small
language share their node, token and position types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automator.errors import ConfigError
from automator.write.gofuncs import FUNCTIONS, go_print, truthy

NAME = "commit message"
_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<decl>:=)|(?P<assign>=)|(?P<pipe>\|)|(?P<open>\()|(?P<close>\))
    |(?P<comma>,)|(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)
    |(?P<number>-?\d+(?:\.\d+)?)|(?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    |(?P<field>(?:\.[A-Za-z0-9_]+)+|\.)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)""",
    re.VERBOSE,
)
_KEYWORDS = ("if", "else", "end", "range", "with")
_UNSUPPORTED = ("define", "template", "block", "break", "continue")


class TemplateError(ConfigError):
    """A template that cannot be parsed or executed, with its position."""


@dataclass(frozen=True, slots=True)
class Node:
    """One piece of a parsed template: text, an action or a control structure."""

    kind: str  # text | action | if | range | with
    pos: int
    text: str = ""
    pipe: tuple[Any, ...] = ()  # (declared vars, assign?, commands)
    body: tuple[Node, ...] = ()
    orelse: tuple[Node, ...] = ()


@dataclass(slots=True)
class _Parser:
    source: str
    items: list[tuple[str, int, str]] = field(default_factory=list)  # (kind, pos, text)
    at: int = 0

    def where(self, pos: int) -> str:
        line = self.source.count("\n", 0, pos) + 1
        column = pos - (self.source.rfind("\n", 0, pos) + 1) + 1
        return f"template: {NAME}:{line}:{column}"

    def fail(self, pos: int, message: str) -> TemplateError:
        return TemplateError(f"{self.where(pos)}: {message}")


def parse(source: str) -> tuple[Node, ...]:
    """Parse ``source``; raise TemplateError naming line and column on any mistake."""
    parser = _Parser(source)
    _lex(parser)
    body, stop = _nodes(parser, ())
    if stop is not None:
        raise parser.fail(stop[1], f"unexpected {{{{{stop[2]}}}}}")
    return body


def render(source: str, data: Any) -> str:
    """Parse and execute ``source`` with ``data`` as ``.``."""
    nodes = parse(source)
    out: list[str] = []
    _run(_Parser(source), nodes, data, {"$": data}, out)
    return "".join(out)


def _lex(parser: _Parser) -> None:
    source, pos, trim_next = parser.source, 0, False
    while pos <= len(source):
        start = source.find("{{", pos)
        text = source[pos:] if start < 0 else source[pos:start]
        if trim_next:
            text = text.lstrip()
        if start < 0:
            parser.items.append(("text", pos, text))
            return
        inner_start = start + 2
        if source.startswith("- ", inner_start) or source.startswith("-\n", inner_start):
            text = text.rstrip()
            inner_start += 1
        parser.items.append(("text", pos, text))
        end = source.find("}}", inner_start)
        if end < 0:
            raise parser.fail(start, "unclosed action")
        inner_end, trim_next = end, False
        if source[end - 2 : end] in (" -", "\n-"):
            inner_end, trim_next = end - 1, True
        inner = source[inner_start:inner_end]
        if not inner.strip().startswith("/*"):
            parser.items.append(("action", inner_start, inner))
        elif not inner.strip().endswith("*/"):
            raise parser.fail(start, "unclosed comment")
        pos = end + 2


def _nodes(
    parser: _Parser, stops: tuple[str, ...]
) -> tuple[tuple[Node, ...], tuple[str, int, str] | None]:
    out: list[Node] = []
    while parser.at < len(parser.items):
        kind, pos, text = parser.items[parser.at]
        parser.at += 1
        if kind == "text":
            if text:
                out.append(Node("text", pos, text))
            continue
        word = text.strip().split(None, 1)[0] if text.strip() else ""
        if word in stops:
            return tuple(out), (word, pos, text.strip())
        if word in _UNSUPPORTED:
            raise parser.fail(pos, f"{{{{{word}}}}} is not supported in commit messages")
        if word in ("if", "range", "with"):
            out.append(_block(parser, word, pos, text.strip()[len(word) :]))
        elif word in ("else", "end"):
            raise parser.fail(pos, f"unexpected {{{{{word}}}}}")
        else:
            out.append(Node("action", pos, pipe=_pipeline(parser, pos, text)))
    return tuple(out), None


def _block(parser: _Parser, word: str, pos: int, rest: str) -> Node:
    pipe = _pipeline(parser, pos, rest)
    if word == "range" and len(pipe[0]) > 2:
        raise parser.fail(pos, "range declares at most two variables")
    body, stop = _nodes(parser, ("else", "end"))
    if stop is None:
        raise parser.fail(pos, f"{{{{{word}}}}} has no {{{{end}}}}")
    orelse: tuple[Node, ...] = ()
    if stop[0] == "else":
        after = stop[2][len("else") :].strip()
        if after.startswith(("if ", "with ")) and word != "range":
            inner = after.split(None, 1)[0]
            orelse = (_block(parser, inner, stop[1], after[len(inner) :]),)
        elif after:
            raise parser.fail(stop[1], f"unexpected {after!r} after else")
        else:
            orelse, stop = _nodes(parser, ("end",))
            if stop is None:
                raise parser.fail(pos, f"{{{{{word}}}}} has no {{{{end}}}}")
    return Node(word, pos, pipe=pipe, body=body, orelse=orelse)


def _pipeline(parser: _Parser, pos: int, text: str) -> tuple[Any, ...]:
    tokens = _tokens(parser, pos, text)
    declared: tuple[str, ...] = ()
    assign = False
    for op in ("decl", "assign"):
        marks = [i for i, t in enumerate(tokens) if t[0] == op]
        if marks:
            names = [t for t in tokens[: marks[0]] if t[0] != "comma"]
            if not names or any(t[0] != "var" or "." in t[2] for t in names):
                raise parser.fail(pos, f"bad variable declaration in {text.strip()!r}")
            declared, assign = tuple(t[2] for t in names), op == "assign"
            tokens = tokens[marks[0] + 1 :]
            break
    commands, rest = _commands(parser, pos, tokens, text)
    if rest:
        raise parser.fail(pos, f"unexpected ')' in {text.strip()!r}")
    return declared, assign, commands


def _tokens(parser: _Parser, pos: int, text: str) -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise parser.fail(pos + at, f"unexpected {text[at]!r} in action")
        kind = match.lastgroup or ""
        if kind != "space":
            found.append((kind, pos + at, match.group()))
        at = match.end()
    return found


def _commands(
    parser: _Parser, pos: int, tokens: list[tuple[str, int, str]], text: str
) -> tuple[tuple[tuple[Any, ...], ...], list[tuple[str, int, str]]]:
    commands: list[tuple[Any, ...]] = []
    current: list[Any] = []
    while tokens:
        token = tokens.pop(0)
        kind = token[0]
        if kind == "close":
            break
        if kind == "pipe":
            if not current:
                raise parser.fail(token[1], "missing command before '|'")
            commands.append(tuple(current))
            current = []
        elif kind == "open":
            inner, tokens = _commands(parser, token[1], tokens, text)
            current.append(("pipeline", token[1], ((), False, inner)))
        elif kind == "ident" and token[2] not in ("true", "false", "nil"):
            if token[2] not in FUNCTIONS:
                raise parser.fail(token[1], f'function "{token[2]}" not supported')
            current.append(("func", token[1], token[2]))
        elif kind in ("string", "raw", "number", "var", "field", "ident"):
            current.append(token)
        else:
            raise parser.fail(token[1], f"unexpected {token[2]!r} in {text.strip()!r}")
    if not current:
        raise parser.fail(pos, f"missing value in {text.strip()!r}")
    commands.append(tuple(current))
    return tuple(commands), tokens


# -- execution ----------------------------------------------------------------------


def _run(
    parser: _Parser, nodes: tuple[Node, ...], dot: Any, scope: dict[str, Any], out: list[str]
) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            value = _pipe(parser, node, dot, scope)
            if not node.pipe[0]:
                out.append(go_print(value))
        elif node.kind in ("if", "with"):
            inner = dict(scope)
            value = _pipe(parser, node, dot, inner)
            if truthy(value):
                _run(parser, node.body, value if node.kind == "with" else dot, inner, out)
            else:
                _run(parser, node.orelse, dot, inner, out)
        else:
            _range(parser, node, dot, scope, out)


def _range(parser: _Parser, node: Node, dot: Any, scope: dict[str, Any], out: list[str]) -> None:
    declared = node.pipe[0]
    value = _expression(parser, node, node.pipe[2], dot, scope)
    if isinstance(value, dict):
        try:
            keys = sorted(value)
        except TypeError:
            keys = list(value)
        pairs = [(k, value[k]) for k in keys]
    elif isinstance(value, (list, tuple)):
        pairs = list(enumerate(value))
    elif value is None:
        pairs = []
    else:
        raise parser.fail(node.pos, f"range can't iterate over {go_print(value)}")
    if not pairs:
        _run(parser, node.orelse, dot, dict(scope), out)
    for key, item in pairs:
        inner = dict(scope)
        if len(declared) == 1:
            inner[declared[0]] = item
        elif len(declared) == 2:
            inner[declared[0]], inner[declared[1]] = key, item
        _run(parser, node.body, item, inner, out)


def _pipe(parser: _Parser, node: Node, dot: Any, scope: dict[str, Any]) -> Any:
    declared, assign, commands = node.pipe
    value = _expression(parser, node, commands, dot, scope)
    for name in declared:
        if assign and name not in scope:
            raise parser.fail(node.pos, f"undefined variable: {name}")
        scope[name] = value
    return value


def _expression(
    parser: _Parser, node: Node, commands: tuple[tuple[Any, ...], ...], dot: Any, scope: Any
) -> Any:
    value: Any = None
    for index, command in enumerate(commands):
        piped = (value,) if index else ()
        value = _command(parser, node, command, dot, scope, piped)
    return value


def _command(
    parser: _Parser,
    node: Node,
    command: tuple[Any, ...],
    dot: Any,
    scope: Any,
    piped: tuple[Any, ...],
) -> Any:
    head = command[0]
    if head[0] == "func":
        args = [_operand(parser, node, arg, dot, scope) for arg in command[1:]] + list(piped)
        function: Callable[..., Any] = FUNCTIONS[head[2]]
        try:
            return function(*args)
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise parser.fail(head[1], f"error calling {head[2]}: {exc}") from exc
    if len(command) > 1 or piped:
        raise parser.fail(head[1], f"can't give arguments to non-function {head[2]!r}")
    return _operand(parser, node, head, dot, scope)


def _operand(parser: _Parser, node: Node, token: tuple[Any, ...], dot: Any, scope: Any) -> Any:
    kind, pos, text = token
    if kind == "string":
        return str(json.loads(text))
    if kind == "raw":
        return text[1:-1]
    if kind == "number":
        return float(text) if "." in text else int(text)
    if kind == "ident":
        return {"true": True, "false": False, "nil": None}[text]
    if kind == "pipeline":
        return _expression(parser, node, text[2], dot, scope)
    if kind == "func":
        return _command(parser, node, (token,), dot, scope, ())
    if kind == "var":
        name, *fields = text.split(".")
        if name not in scope:
            raise parser.fail(pos, f"undefined variable: {name}")
        return _fields(parser, pos, scope[name], fields)
    return _fields(parser, pos, dot, [f for f in text.split(".") if f])


def _fields(parser: _Parser, pos: int, value: Any, names: list[str]) -> Any:
    for name in names:
        if isinstance(value, dict):
            value = value.get(name)
            continue
        got = getattr(value, name, _MISSING) if not name.startswith("_") else _MISSING
        if got is _MISSING:
            kind = getattr(value, "go_type", type(value).__name__)
            raise parser.fail(pos, f"can't evaluate field {name} in type {kind}")
        value = got() if callable(got) else got
    return value


_MISSING = object()
