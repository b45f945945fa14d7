"""The policy-string grammar: splitting text into a head and options, with positions.

    policy   = head *( ";" option )
    head     = name [ ":" value ]          semver:~1.4   alphabetical:desc   digest:stable
    option   = name [ "=" value ]          filter="^a;b$"   ignore=*-rc*   prerelease
    value    = quoted / raw
    quoted   = DQUOTE *( char / "\\" DQUOTE / "\\\\" ) DQUOTE
    raw      = everything up to the next ";" (surrounding whitespace dropped)

Only ``\\"`` and ``\\\\`` are escapes inside quotes; any other backslash is kept as is,
so ``filter="^v\\d+;x$"`` reads as the regex ``^v\\d+;x$``. A raw value cannot hold
``;``: quote it. What the names and values mean is decided in ``policies.policy``;
this module only knows where things are, so every error can name a column.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.errors import PolicyError


@dataclass(frozen=True, slots=True)
class Part:
    """A ``name[:=]value`` piece; ``*_at`` are 0-based offsets into the policy text."""

    name: str
    value: str | None
    name_at: int
    value_at: int


def policy_error(text: str, at: int, expected: str) -> PolicyError:
    """A one-line error naming the policy, the 1-based column and what was expected."""
    return PolicyError(f"policy {text!r}: column {at + 1}: expected {expected}")


class _Scanner:
    """A cursor over one policy string (the only state this module holds)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def skip_spaces(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in " \t":
            self.at += 1

    def name(self, stops: str, what: str) -> tuple[str, int]:
        self.skip_spaces()
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in stops:
            self.at += 1
        name = self.text[start : self.at].strip()
        if not name:
            raise policy_error(self.text, start, what)
        return name, start

    def value(self) -> tuple[str, int]:
        self.skip_spaces()
        if self.at < len(self.text) and self.text[self.at] == '"':
            return self._quoted()
        start = self.at
        end = self.text.find(";", start)
        self.at = len(self.text) if end < 0 else end
        return self.text[start : self.at].strip(), start

    def _quoted(self) -> tuple[str, int]:
        start = self.at
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.text[self.at + 1 : self.at + 2] in ('"', "\\"):
                out.append(self.text[self.at + 1])
                self.at += 2
            elif char == '"':
                self.at += 1
                self.skip_spaces()
                if self.at < len(self.text) and self.text[self.at] != ";":
                    raise policy_error(self.text, self.at, "';' or the end after a quoted value")
                return "".join(out), start
            else:
                out.append(char)
                self.at += 1
        raise policy_error(self.text, start, "a closing '\"' for the quote opened here")

    def part(self, stops: str, separator: str, what: str) -> Part:
        name, name_at = self.name(stops, what)
        if self.at < len(self.text) and self.text[self.at] == separator:
            self.at += 1
            value, value_at = self.value()
            return Part(name, value, name_at, value_at)
        return Part(name, None, name_at, self.at)


def split_policy(text: str) -> tuple[Part, tuple[Part, ...]]:
    """Split ``text`` into its head and options; raise ``PolicyError`` with a column."""
    scanner = _Scanner(text)
    head = scanner.part(":;", ":", "a policy name such as semver, regex, glob or digest")
    options: list[Part] = []
    while scanner.at < len(text):
        scanner.at += 1  # the ";" that ended the previous part
        options.append(scanner.part("=;", "=", "an option name after ';'"))
    return head, tuple(options)


def quote(value: str) -> str:
    """Quote ``value`` for a policy string when it needs it (the inverse of reading)."""
    if value and ";" not in value and not value.startswith('"') and value.strip() == value:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
