"""A Helm repository's ``index.yaml``, read as a stream of YAML events in bounded memory.

Real indexes are tens of megabytes (every version of every chart, with descriptions
and maintainers). Loading one as a document costs ten times its size in objects; here
the parser's events are walked once and only what selection needs is kept per version:
the version, when it was created, its digest, its first URL, and the chart's home,
sources and release-notes annotation. Everything else is skipped as it streams by.

Hostile input is refused whole, with one line that says why: any anchor or alias (a
YAML bomb needs them), more than ``MAX_ENTRIES`` versions, a scalar over
``MAX_SCALAR`` characters, nesting deeper than ``MAX_DEPTH``, a document that is not a
mapping with ``entries``. A version string that is not one clean line is dropped with
the chart's other bad versions and counted (``ChartIndex.dropped``).

An index whose end the HTTP layer could not check (no Content-Length, not chunked, not
compressed: the server closed the connection to end it) must end as ``helm repo index``
writes it, with ``generated`` after ``entries`` (Helm writes the keys sorted, and always
writes ``generated``): a body cut anywhere in ``entries``, at a line boundary or not,
still parses, and would lose versions or shorten the last one without a sign.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.reader import ReaderError

from automator.errors import ChartError

MAX_ENTRIES: Final = 500_000
MAX_SCALAR: Final = 64 * 1024
MAX_DEPTH: Final = 32
_KEPT: Final = ("version", "created", "digest", "home")
_NOTES: Final = "artifacthub.io/changes", "artifacthub.io/releaseNotes"


class Readable(Protocol):
    """What the parser reads from: a file, an answer's ``BodyReader``."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ChartVersion:
    """One version of a chart as the index lists it."""

    version: str
    created: str = ""
    digest: str = ""
    url: str = ""  # the first of ``urls``, as written (may be relative to the repository)
    home: str = ""
    sources: tuple[str, ...] = ()
    notes: str = ""  # a release-notes URL from the chart's annotations, when it names one


@dataclass(frozen=True, slots=True)
class ChartIndex:
    """The charts of one index: name -> versions in index order; ``dropped`` bad versions."""

    charts: dict[str, tuple[ChartVersion, ...]]
    dropped: int = 0

    def versions(self, chart: str) -> tuple[ChartVersion, ...]:
        return self.charts.get(chart, ())


def read_index(
    stream: Readable | bytes, *, where: str, max_entries: int = MAX_ENTRIES, trailer: bool = False
) -> ChartIndex:
    """The charts in an ``index.yaml``; ``ChartError`` naming ``where`` if it is refused.

    ``stream`` is read as the parser asks (16 KiB at a time): an answer's ``BodyReader``
    is parsed while it arrives, never held whole. With ``trailer`` (the body's end was not
    checked), an index without ``generated`` after ``entries`` is refused as cut off.
    """
    source = stream if not isinstance(stream, bytes) else _Bytes(stream)
    try:
        index, ended = _Walker(YAML(typ="safe").parse(source), where, max_entries).index()
    except ReaderError as exc:
        raise ChartError(
            f"{where}: not UTF-8 text (at byte {exc.position}: {str(exc.reason)[:60]}); check the"
            " repository URL"
        ) from exc
    except YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise ChartError(f"{where}: not YAML (line {line}); check the repository URL") from exc
    if trailer and not ended:
        raise ChartError(
            f"{where}: ends without the generated: that helm repo index writes after entries,"
            " and the server ended the answer by closing the connection (no Content-Length),"
            " so it may be cut off; not used, read again next cycle",
            transient=True,
        )
    return index


class _Bytes:
    """A minimal reader over bytes (the C parser wants ``read``)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk


class _Walker:
    def __init__(self, events: Iterator[Event], where: str, max_entries: int) -> None:
        self._events = events
        self._max = max_entries
        self._where = where
        self._count = 0
        self._dropped = 0

    def _next(self) -> Event:
        event = next(self._events, None)
        if event is None:
            raise self._bad("the document ends early")
        if isinstance(event, AliasEvent) or (isinstance(event, NodeEvent) and event.anchor):
            raise ChartError(
                f"{self._where}: anchors and aliases are refused in index.yaml (a YAML bomb"
                " needs them); ask the repository's owner to regenerate it with helm repo index"
            )
        if isinstance(event, ScalarEvent) and len(event.value) > MAX_SCALAR:
            raise ChartError(f"{self._where}: a value longer than {MAX_SCALAR} characters")
        return event

    def _bad(self, what: str) -> ChartError:
        return ChartError(f"{self._where}: {what}; this is not a Helm repository index")

    def index(self) -> tuple[ChartIndex, bool]:
        """The index, and whether it ends as Helm writes one (``generated`` after ``entries``)."""
        event = self._next()
        while not isinstance(event, CollectionStartEvent | ScalarEvent):
            event = self._next()  # stream and document starts
        if not isinstance(event, MappingStartEvent):
            raise self._bad("the document is not a mapping")
        charts: dict[str, tuple[ChartVersion, ...]] | None = None
        ended = False
        while not isinstance(key := self._next(), MappingEndEvent):
            if isinstance(key, ScalarEvent) and key.value == "entries":
                charts = self._entries()
            else:
                ended = ended or (charts is not None and _named(key, "generated"))
                self._skip(self._next(), 1)
        if charts is None:
            raise self._bad("no entries")
        return ChartIndex(charts, self._dropped), ended

    def _entries(self) -> dict[str, tuple[ChartVersion, ...]]:
        start = self._next()
        charts: dict[str, tuple[ChartVersion, ...]] = {}
        if isinstance(start, ScalarEvent):  # "entries:" with nothing under it
            return charts
        if not isinstance(start, MappingStartEvent):
            raise self._bad("entries is not a mapping")
        while not isinstance(name := self._next(), MappingEndEvent):
            if not isinstance(name, ScalarEvent):
                raise self._bad("a chart name that is not text")
            versions = self._versions(name.value)
            if versions:
                charts[sys.intern(name.value)] = versions
        return charts

    def _versions(self, chart: str) -> tuple[ChartVersion, ...]:
        start = self._next()
        if isinstance(start, ScalarEvent):
            return ()
        if not isinstance(start, SequenceStartEvent):
            raise self._bad(f"entries.{chart[:60]} is not a list")
        found: list[ChartVersion] = []
        while not isinstance(item := self._next(), SequenceEndEvent):
            self._count += 1
            if self._count > self._max:
                raise ChartError(f"{self._where}: more than {self._max} chart versions")
            if not isinstance(item, MappingStartEvent):
                self._skip(item, 2)
                self._dropped += 1
                continue
            version = self._version(chart)
            if version is None:
                self._dropped += 1
            else:
                found.append(version)
        return tuple(found)

    def _version(self, chart: str) -> ChartVersion | None:
        fields: dict[str, Any] = {}
        while not isinstance(key := self._next(), MappingEndEvent):
            value = self._next()
            name = key.value if isinstance(key, ScalarEvent) else ""
            if name in _KEPT and isinstance(value, ScalarEvent):
                fields[name] = value.value
            elif name in ("urls", "sources") and isinstance(value, SequenceStartEvent):
                fields[name] = self._strings()
            elif name == "annotations" and isinstance(value, MappingStartEvent):
                fields["notes"] = self._notes()
            else:
                self._skip(value, 3)
        version = fields.get("version", "")
        if not version or version != version.strip() or not version.isprintable():
            return None  # no version, or one with a newline or control characters in it
        urls = fields.pop("urls", ())
        fields["url"] = urls[0] if urls else ""
        fields["sources"] = tuple(fields.get("sources", ()))
        home = fields.get("home", "")
        if home:
            fields["home"] = sys.intern(home)
        return ChartVersion(**fields)

    def _strings(self) -> tuple[str, ...]:
        out: list[str] = []
        while not isinstance(item := self._next(), SequenceEndEvent):
            if isinstance(item, ScalarEvent):
                out.append(item.value)
            else:
                self._skip(item, 4)
        return tuple(out)

    def _notes(self) -> str:
        notes = ""
        while not isinstance(key := self._next(), MappingEndEvent):
            value = self._next()
            name = key.value if isinstance(key, ScalarEvent) else ""
            if name in _NOTES and isinstance(value, ScalarEvent) and "\n" not in value.value:
                notes = value.value if value.value.startswith("https://") else notes
            else:
                self._skip(value, 4)
        return notes

    def _skip(self, event: Event, depth: int) -> None:
        """Pass over one value that has started with ``event`` (any nesting)."""
        level = 0
        while True:
            if isinstance(event, CollectionStartEvent):
                level += 1
                if depth + level > MAX_DEPTH:
                    raise ChartError(f"{self._where}: nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, MappingEndEvent | SequenceEndEvent):
                level -= 1
            if level == 0:
                return
            event = self._next()


def _named(event: Event, key: str) -> bool:
    return isinstance(event, ScalarEvent) and event.value == key
