"""Parsed indexes on disk (``state_dir/helm-index/``), so the next process starts warm.

What is stored is the compact parsed form (``ChartIndex``), never the raw body, as
JSON lines: a header with the URL and the validators (``ETag``, ``Last-Modified``),
one line per chart, and a trailer with the number of charts. Reading the validators
takes the header line only; the charts are read line by line when a 304 says they are
still current. A file is written line by line into a temporary file beside it and
renamed over the old one, so a reader sees the old copy or the new one, whole; a file
without its trailer (or of another format) is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from automator.charts.index import ChartIndex, ChartVersion

logger = logging.getLogger(__name__)

FORMAT: Final = 2  # 1: one JSON document (before index.yaml was streamed)


@dataclass(frozen=True, slots=True)
class Validators:
    """What makes a conditional request: the ``ETag`` and ``Last-Modified`` held."""

    etag: str = ""
    modified: str = ""


class IndexCache:
    """One file per index URL under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, url: str) -> Path:
        return self.directory / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".jsonl")

    def validators(self, url: str) -> Validators | None:
        """The validators stored for ``url`` (the header line only), None without a copy."""
        try:
            with self.path(url).open("rb") as file:
                header = _header(file, url)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.debug("no usable cached index for %s: %s", url, exc)
            return None
        return Validators(header["etag"], header["modified"])

    def load(self, url: str, validators: Validators) -> ChartIndex | None:
        """The index stored for ``url`` under ``validators``, read a chart at a time."""
        try:
            with self.path(url).open("rb") as file:
                header = _header(file, url)
                if Validators(header["etag"], header["modified"]) != validators:
                    return None  # replaced since the validators were read
                charts = dict(_charts(file))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.debug("no usable cached index for %s: %s", url, exc)
            return None
        return ChartIndex(charts, int(header.get("dropped", 0)))

    def store(self, url: str, validators: Validators, index: ChartIndex) -> None:
        """Write ``index`` for ``url`` (a temporary file, renamed); a warning if it cannot."""
        header = {"format": FORMAT, "url": url, "etag": validators.etag}
        header |= {"modified": validators.modified, "dropped": index.dropped}
        partial = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            partial = Path(name)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(_line(header))
                for chart, versions in index.charts.items():
                    out.write(_line([chart, [_row(v) for v in versions]]))
                out.write(_line({"end": len(index.charts)}))
            partial.replace(self.path(url))
            self.path(url).with_suffix(".json").unlink(missing_ok=True)  # format 1's file
        except OSError as exc:
            logger.warning("cannot cache the index of %s in %s: %s", url, self.directory, exc)
            if partial is not None:
                with contextlib.suppress(OSError):
                    partial.unlink()


def _line(value: object) -> str:
    return json.dumps(value, separators=(",", ":")) + "\n"


def _header(file: IO[bytes], url: str) -> dict[str, Any]:
    header = json.loads(file.readline())
    if header.get("format") != FORMAT or header.get("url") != url:
        raise ValueError("another format or URL")
    return dict(header)


def _charts(file: IO[bytes]) -> Iterator[tuple[str, tuple[ChartVersion, ...]]]:
    for count, line in enumerate(file):
        item = json.loads(line)
        if isinstance(item, dict):
            if item["end"] != count:
                raise ValueError(f"{item['end']} charts announced, {count} read")
            return
        name, rows = item
        yield str(name), tuple(_version(row) for row in rows)
    raise ValueError("the file ends before its trailer")


_FIELDS: Final = ("version", "created", "digest", "url", "home", "sources", "notes")


def _row(version: ChartVersion) -> list[object]:
    return [getattr(version, name) for name in _FIELDS]


def _version(row: list[Any]) -> ChartVersion:
    fields = dict(zip(_FIELDS, row, strict=True))
    fields["sources"] = tuple(str(s) for s in fields["sources"])
    return ChartVersion(**fields)
