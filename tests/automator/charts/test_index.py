"""index.yaml read as a stream: what is kept, and every hostile shape refused in one line."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from automator.charts.index import MAX_ENTRIES, ChartVersion, read_index
from automator.errors import ChartError
from testing.helmrepo import Chart, write_index

INDEX = b"""\
apiVersion: v1
entries:
  podinfo:
  - apiVersion: v2
    annotations:
      artifacthub.io/changes: |
        - kind: added
          description: a list, not a URL
      artifacthub.io/releaseNotes: https://github.com/stefanprodan/podinfo/releases/tag/6.5.4
    appVersion: 6.5.4
    created: "2023-12-12T10:04:23.153591+02:00"
    description: Podinfo Helm chart for Kubernetes
    digest: 6c7d1b2a7b1e9c1e2c0a0f0f1b8f2f8c0c6a5b4d3e2f1a0b9c8d7e6f5a4b3c2d1
    home: https://github.com/stefanprodan/podinfo
    kubeVersion: '>=1.23.0-0'
    maintainers:
    - email: stefanprodan@users.noreply.github.com
      name: stefanprodan
    name: podinfo
    sources:
    - https://github.com/stefanprodan/podinfo
    urls:
    - https://stefanprodan.github.io/podinfo/podinfo-6.5.4.tgz
    version: 6.5.4
  - name: podinfo
    version: "6.5.5\\n6.9.9"
  - name: podinfo
    urls: [x.tgz]
  - just a string
  empty:
generated: "2023-12-12T10:04:23.153591+02:00"
"""


def test_keeps_what_selection_and_pull_requests_need() -> None:
    index = read_index(INDEX, where="podinfo")
    assert index.versions("podinfo") == (
        ChartVersion(
            version="6.5.4",
            created="2023-12-12T10:04:23.153591+02:00",
            digest="6c7d1b2a7b1e9c1e2c0a0f0f1b8f2f8c0c6a5b4d3e2f1a0b9c8d7e6f5a4b3c2d1",
            url="https://stefanprodan.github.io/podinfo/podinfo-6.5.4.tgz",
            home="https://github.com/stefanprodan/podinfo",
            sources=("https://github.com/stefanprodan/podinfo",),
            notes="https://github.com/stefanprodan/podinfo/releases/tag/6.5.4",
        ),
    )
    assert index.versions("empty") == () and index.versions("absent") == ()
    assert index.dropped == 3, "a version with a newline, one with none, one not a mapping"


def test_reads_what_the_test_repository_writes(tmp_path: Path) -> None:
    charts = [Chart("web", v, home="https://example.test/web") for v in ("1.0.0", "1.1.0")]
    path = write_index(tmp_path, charts)
    index = read_index(path.read_bytes(), where="web")
    assert [v.version for v in index.versions("web")] == ["1.0.0", "1.1.0"]
    assert index.versions("web")[0].url == "web-1.0.0.tgz"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"a: &a [x, x]\nb: &b [*a, *a]\nentries: {}\n", "anchors and aliases are refused"),
        (b"entries:\n  c:\n  - &v {version: 1.0.0}\n  - *v\n", "anchors and aliases are refused"),
        (b"- 1\n", "the document is not a mapping"),
        (b"apiVersion: v1\n", "no entries"),
        (b"entries: [1]\n", "entries is not a mapping"),
        (b"entries:\n  c: 1.0.0\n  d: {}\n", "entries.d is not a list"),
        (b"entries:\n  c:\n  - " + b"[" * 40 + b"]" * 40 + b"\n", "nested deeper than 32"),
        (b"entries: {c: [{version: '" + b"9" * 70_000 + b"'}]}\n", "longer than 65536"),
        (b"entries:\n  a: b: c\n", "not YAML (line 2)"),
        (b"", "the document ends early"),
        (b"entries:\n  c:\n  - {version: 1.0.0\xff}\n", "not UTF-8 text (at byte 33"),
        (b"entries:\n  \xc3\x28: []\n", "not UTF-8 text"),
    ],
)
def test_hostile_indexes_are_refused_in_one_line(text: bytes, why: str) -> None:
    with pytest.raises(ChartError, match=re.escape(why)) as caught:
        read_index(text, where="https://charts.example/index.yaml")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("https://charts.example/index.yaml: ")


def test_the_number_of_versions_is_bounded() -> None:
    entry = b"  - {version: 1.0.0}\n"
    head = b"entries:\n  c:\n"
    assert MAX_ENTRIES == 500_000
    assert len(read_index(head + entry * 10, where="big", max_entries=10).versions("c")) == 10
    with pytest.raises(ChartError, match="more than 10 chart versions"):
        read_index(head + entry * 11, where="big", max_entries=10)


def test_a_large_index_is_read_without_building_the_document() -> None:
    """Memory is counted (tracemalloc), not timed: well under the text's own size."""
    one = (
        "  - apiVersion: v2\n    appVersion: 1.{v}.0\n    description: {pad}\n"
        "    digest: {digest}\n    maintainers:\n    - name: someone\n      email: a@b.c\n"
        "    name: chart{c}\n    urls:\n    - https://charts.example/chart{c}-1.{v}.0.tgz\n"
        "    version: 1.{v}.0\n"
    )
    parts = ["apiVersion: v1\nentries:\n"]
    for c in range(20):
        parts.append(f"  chart{c}:\n")
        parts.extend(one.format(c=c, v=v, pad="x" * 4000, digest="ab" * 32) for v in range(25))
    data = "".join(parts).encode()
    tracemalloc.start()
    try:
        index = read_index(data, where="big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(len(v) for v in index.charts.values()) == 500
    assert peak < len(data) // 4, f"peak {peak} bytes for a {len(data)}-byte index"


class Recorder:
    """A reader over bytes that counts what the parser asks of it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0
        self.asked: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at : end], min(end, len(self.data))
        return chunk


def test_the_parser_pulls_the_index_a_bounded_piece_at_a_time() -> None:
    """What the parser holds of the text is counted: it never asks for more than 16 KiB."""
    entry = b"  - {version: 1.0.%d, description: %s}\n"
    data = b"entries:\n  c:\n" + b"".join(entry % (n, b"x" * 500) for n in range(4000))
    recorder = Recorder(data)
    index = read_index(recorder, where="big")
    assert len(index.versions("c")) == 4000
    assert max(recorder.asked) <= 16 * 1024 and min(recorder.asked) > 0
    assert len(recorder.asked) >= len(data) // (16 * 1024)
