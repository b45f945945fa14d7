"""The parsed index on disk: JSON lines, read back whole or not at all, written by rename."""

from __future__ import annotations

import json
from pathlib import Path

from automator.charts.index import ChartIndex, ChartVersion
from automator.charts.indexcache import IndexCache, Validators

URL = "https://charts.example/index.yaml"
INDEX = ChartIndex(
    {
        "web": (
            ChartVersion("1.0.0", "2024-01-02T03:04:05Z", "ab" * 32, "web-1.0.0.tgz"),
            ChartVersion("1.1.0", home="https://example.test", sources=("https://a", "https://b")),
        ),
        "db": (ChartVersion("2.0.0", notes="https://example.test/notes"),),
    },
    dropped=2,
)
SAID = Validators('"abc"', "Tue, 02 Jan 2024 03:04:05 GMT")


def test_an_index_comes_back_as_it_was_stored(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path / "helm-index")
    cache.store(URL, SAID, INDEX)
    assert cache.validators(URL) == SAID
    assert cache.load(URL, SAID) == INDEX
    assert cache.load(URL, Validators('"other"')) is None, "replaced since: not this copy"
    assert [p.suffix for p in (tmp_path / "helm-index").iterdir()] == [".jsonl"]


def test_the_old_format_and_a_cut_copy_are_ignored(tmp_path: Path) -> None:
    cache = IndexCache(tmp_path)
    old = cache.path(URL).with_suffix(".json")
    old.write_text(json.dumps({"format": 1, "url": URL, "etag": "x", "modified": "", "charts": {}}))
    assert cache.validators(URL) is None
    cache.store(URL, SAID, INDEX)
    assert not old.exists(), "the old format's file goes when the index is stored again"
    lines = cache.path(URL).read_text().splitlines()
    cache.path(URL).write_text("\n".join(lines[:-1]) + "\n")
    assert cache.validators(URL) == SAID and cache.load(URL, SAID) is None
    cache.path(URL).write_text(lines[0].replace(URL, "https://elsewhere/index.yaml") + "\n")
    assert cache.validators(URL) is None


def test_a_directory_that_cannot_be_written_leaves_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    IndexCache(blocked / "helm-index").store(URL, SAID, INDEX)  # a warning, no exception
    assert blocked.read_text() == "not a directory"
