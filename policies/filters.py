"""Tag filters: regular expressions with extraction, globs, and what is never a tag.

Patterns are Python ``re`` with Go-like meaning: ``filter=`` and ``regex:`` search
unanchored (Go ``FindStringSubmatch``), so anchor with ``^...$`` to match whole tags.
``extract=`` is a Go ``Regexp.Expand`` template: ``$name``, ``${name}``, ``$1``, ``$$``.

Bounds: user patterns run on the ``regex`` module (``re``-compatible syntax in its
V0 mode), which avoids most of ``re``'s pathological backtracking and, above all,
takes a timeout: every match gets at most ``MATCH_SECONDS`` and one decision at most
``SELECT_SECONDS`` of pattern time (:class:`PatternClock`), so no pattern can stall
a caller. Before that, patterns longer than 512 characters are refused when the
policy is read, tags longer than 128 characters (the OCI limit) are refused before
any pattern runs, and :func:`backtracking_problem` refuses the shapes that
backtrack exponentially in ``re`` (a repetition inside a repetition, ``(a+)+``;
alternatives that can start alike inside a repetition, ``(a|ab)+``), so a policy
means the same under either engine.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable
from typing import Any, Final

import regex

MAX_PATTERN_CHARS: Final = 512
MATCH_SECONDS: Final = 0.1  # one pattern on one tag
SELECT_SECONDS: Final = 5.0  # every pattern of one decision on every tag
MAX_TAG_CHARS: Final = 128
COSIGN_SUFFIXES: Final = (".sig", ".att", ".sbom")
REFERRERS_TAG_CHARS: Final = len("sha256-") + 64  # the OCI referrers fallback tag of a digest

# the parser behind re.compile; untyped and private, so loaded by name
_parser: Any = importlib.import_module("re._parser")
sre: Any = importlib.import_module("re._constants")
_TAG: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_NAME: Final = re.compile(r"[A-Za-z0-9_]+")


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` cannot be an OCI tag, or None when it can."""
    if len(tag) > MAX_TAG_CHARS:
        return f"longer than {MAX_TAG_CHARS} characters, not a valid tag"
    if not _TAG.fullmatch(tag):
        return "not a valid tag (OCI tags are [A-Za-z0-9_][A-Za-z0-9_.-]*)"
    return None


def backtracking_problem(pattern: str) -> str | None:
    """Why ``pattern`` could take exponential time on a short tag, or None."""
    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return None  # re.compile reports it
    return _scan(list(parsed), repeated=False)


_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)


def _scan(items: list[tuple[Any, Any]], repeated: bool) -> str | None:
    for op, arg in items:
        if op in _REPEATS:
            low, high, body = arg
            varies = high != low
            if repeated and varies and op != sre.POSSESSIVE_REPEAT:
                return "a repetition inside a repetition, like (a+)+, backtracks exponentially"
            if problem := _scan(list(body), repeated or (high > 1 and varies)):
                return problem
        elif op == sre.BRANCH:
            alternatives = arg[1]
            if repeated and not _distinct_starts(alternatives):
                return "alternatives that can start alike inside a repetition, like (a|ab)+"
            for alternative in alternatives:
                if problem := _scan(list(alternative), repeated):
                    return problem
        elif op in (sre.SUBPATTERN, sre.ASSERT, sre.ASSERT_NOT) and (
            problem := _scan(list(arg[-1]), repeated)
        ):
            return problem
    return None


def _distinct_starts(alternatives: list[Any]) -> bool:
    firsts = []
    for alternative in alternatives:
        items = list(alternative)
        if not items or items[0][0] != sre.LITERAL:
            return False
        firsts.append(items[0][1])
    return len(set(firsts)) == len(firsts)


def is_cosign_artefact(tag: str) -> bool:
    """True for cosign signature, attestation and SBOM tags (``sha256-<hex>.sig``...)
    and the OCI referrers fallback tag of a digest (``sha256-<hex>``)."""
    return tag.endswith(COSIGN_SUFFIXES) or (
        len(tag) == REFERRERS_TAG_CHARS and tag.startswith("sha256-")
    )


Pattern = regex.Pattern[str]
Match = regex.Match[str]


class PatternTooSlow(Exception):
    """A user pattern ran past its time bound on ``tag``."""

    def __init__(self, pattern: str, tag: str, seconds: float) -> None:
        super().__init__(pattern, tag, seconds)
        self.pattern, self.tag, self.seconds = pattern, tag, seconds


class PatternClock:
    """The pattern time one decision may spend; hands out per-match timeouts.

    Every match runs with ``MATCH_SECONDS``; the decision's total is checked every
    ``CHECK_EVERY`` matches, so it ends within its budget plus that many timeouts.
    """

    CHECK_EVERY: Final = 16

    def __init__(self, budget: float = SELECT_SECONDS) -> None:
        self._until = time.monotonic() + budget
        self._calls = 0

    def bind(self, method: Callable[..., Match | None]) -> Callable[[str], Match | None]:
        """``method`` (a compiled pattern's search/fullmatch) under this clock."""
        pattern = getattr(getattr(method, "__self__", None), "pattern", "?")

        def run(tag: str) -> Match | None:
            self._calls += 1
            if not self._calls % self.CHECK_EVERY and time.monotonic() > self._until:
                raise PatternTooSlow(pattern, tag, SELECT_SECONDS)
            try:
                return method(tag, timeout=MATCH_SECONDS)
            except TimeoutError as exc:
                raise PatternTooSlow(pattern, tag, MATCH_SECONDS) from exc

        return run


def compile_pattern(value: str) -> Pattern:
    """A user regular expression (``re`` syntax); raises ``regex.error``."""
    return regex.compile(value, regex.V0)


def glob_to_regex(pattern: str) -> Pattern:
    """Compile a glob (``*`` any run, ``?`` one character, ``[...]`` a class) to a regex.

    Flux v1 globs only know ``*``; Argo's ignore globs (Go ``filepath.Match``) also have
    ``?`` and classes. OCI tags can hold neither ``?`` nor ``[``, so both read the same.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[" and (end := pattern.find("]", i + 2)) > 0:
            body = pattern[i + 1 : end]
            negate = body[0] in "!^"
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return regex.compile("".join(out), regex.V0 | regex.DOTALL)


def expand(template: str, match: Match) -> str:
    """Go ``Regexp.ExpandString``: unknown or unmatched groups expand to ``""``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "$" or i + 1 >= len(template):
            out.append(char)
            i += 1
            continue
        name, i = _reference(template, i + 1)
        if name is None:
            out.append("$")
        elif name != "$":
            out.append(_group(match, name))
    return "".join(out)


def compile_template(template: str) -> Callable[[Match], str]:
    """``expand`` bound to ``template``; a lone ``$name`` becomes one group lookup."""
    names = template_names(template)
    if len(names) == 1 and template in (f"${names[0]}", f"${{{names[0]}}}"):
        group: int | str = int(names[0]) if names[0].isdigit() else names[0]
        return lambda m: m.group(group) or ""
    return lambda m: expand(template, m)


def template_names(template: str) -> list[str]:
    """The group names and numbers an ``extract=`` template refers to."""
    names: list[str] = []
    i = template.find("$")
    while i >= 0:
        name, after = _reference(template, i + 1)
        if name not in (None, "$"):
            names.append(name)
        i = template.find("$", after)
    return names


def _reference(template: str, at: int) -> tuple[str | None, int]:
    """Read a reference after ``$``: ``(name, next index)``, ``("$", ...)`` or ``(None, at)``."""
    if template.startswith("$", at):
        return "$", at + 1
    if template.startswith("{", at):
        end = template.find("}", at)
        name = template[at + 1 : end] if end > 0 else ""
        if _NAME.fullmatch(name):
            return name, end + 1
        return None, at
    m = _NAME.match(template, at)
    if m is None:
        return None, at
    return m.group(0), m.end()


def _group(match: Match, name: str) -> str:
    try:
        value = match.group(int(name) if name.isdigit() else name)
    except IndexError:  # no such group: Go expands it to nothing
        return ""
    return value or ""
