"""Helm repositories over real nginx: Basic auth, a CA bundle, 304s, the allow-list, caps."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from automator.adapters.charts import chart_catalog
from automator.charts.catalog import ChartCatalog
from automator.charts.repository import Access, HelmRepositories
from automator.config import Registry, parse_config
from automator.errors import ChartError
from automator.http import BodyReader, Deadline, HttpClient, Reply, Request, Retry
from automator.http.body import CHUNK
from automator.model import ChartSource
from automator.secrets import Secret
from testing.helmrepo import PASSWORD, USER, Chart, HelmRepoServer, write_index

T = TypeVar("T")
CHARTS = [Chart("web", v, home="https://example.test/web") for v in ("1.0.0", "1.1.0", "2.0.0")]


def publish(server: HelmRepoServer, *, private: bool = False) -> str:
    """A fresh repository directory under the server's root; its path below the root."""
    path = ("private/" if private else "") + f"repo-{uuid.uuid4().hex[:8]}"
    write_index(server.root / path, CHARTS)
    return path


def allow(server: HelmRepoServer, **access: object) -> dict[str, Access]:
    settings = Access(**access)  # type: ignore[arg-type]
    return {server.host: settings, server.tls_host: settings}


def repositories(
    table: dict[str, Access], cache_dir: Path | None = None, **kw: object
) -> HelmRepositories:
    def access(host: str) -> Access:
        if host not in table:
            raise ChartError(f"{host}: not listed under registries: in automator.yaml")
        return table[host]

    return HelmRepositories(HttpClient(), access, cache_dir=cache_dir, **kw)  # type: ignore[arg-type]


def test_second_read_is_a_304(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    path = publish(helm_repo)
    repos = repositories(allow(helm_repo, insecure=True), tmp_path / "cache")
    first = repos.read(helm_repo.url(path))
    assert first.status == 200 and first.size > 0
    assert [v.version for v in first.index.versions("web")] == ["1.0.0", "1.1.0", "2.0.0"]
    second = repos.read(helm_repo.url(path))
    assert second.status == 304 and second.index == first.index
    # a new process with the same cache directory starts warm
    third = repositories(allow(helm_repo, insecure=True), tmp_path / "cache").read(
        helm_repo.url(path)
    )
    assert third.status == 304 and third.index == first.index
    assert helm_repo.statuses(f"{path}/index.yaml", 3) == [200, 304, 304]


def test_a_changed_index_is_read_again(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)
    repos = repositories(allow(helm_repo, insecure=True))
    repos.read(helm_repo.url(path))
    write_index(helm_repo.root / path, [*CHARTS, Chart("web", "2.1.0")])
    again = repos.read(helm_repo.url(path))
    assert again.status == 200
    assert again.index.versions("web")[-1].version == "2.1.0"


def test_basic_auth_and_ca_bundle_over_https(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo, private=True)
    url = helm_repo.tls_url(path)
    table = allow(
        helm_repo, username=USER, password=Secret(PASSWORD), ca_bundle=str(helm_repo.ca_file)
    )
    assert repositories(table).read(url).index.versions("web")

    without = allow(helm_repo, ca_bundle=str(helm_repo.ca_file))
    with pytest.raises(ChartError, match=r"401 reading index\.yaml; check the credentials") as e:
        repositories(without).read(url)
    assert PASSWORD not in str(e.value)

    untrusted = allow(helm_repo, username=USER, password=Secret(PASSWORD))
    with pytest.raises(ChartError, match="CERTIFICATE_VERIFY_FAILED"):
        repositories(untrusted, retry=Retry(attempts=1)).read(url)


def test_unlisted_hosts_and_plain_http_send_nothing(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)
    with pytest.raises(ChartError, match="not listed under registries:"):
        repositories({}).read(helm_repo.url(path))
    with pytest.raises(ChartError, match="plain http; use https, or set insecure: true"):
        repositories(allow(helm_repo)).read(helm_repo.url(path))
    with pytest.raises(ChartError, match="a Helm repository URL is http"):
        repositories(allow(helm_repo)).read(f"ftp://{helm_repo.host}/{path}")
    assert helm_repo.statuses(f"{path}/index.yaml") == []


def test_a_body_past_the_limit_is_refused(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)
    with pytest.raises(ChartError, match=r"index\.yaml: answer of [0-9]+ bytes is over the 100-"):
        repositories(allow(helm_repo, insecure=True), limit=100).read(helm_repo.url(path))


def test_a_missing_index_names_the_repository(helm_repo: HelmRepoServer) -> None:
    url = helm_repo.url("no-such-repo")
    with pytest.raises(ChartError, match=f"{url}: 404 reading index.yaml"):
        repositories(allow(helm_repo, insecure=True)).read(url)


VERSION = """\
  - apiVersion: v2
    created: "2024-01-02T03:04:05.000000Z"
    description: {pad}
    digest: {digest}
    home: https://example.test/{c}
    maintainers:
    - {{email: someone@example.test, name: someone}}
    name: {c}
    urls:
    - {c}-1.{v}.0.tgz
    version: 1.{v}.0
"""


def large_index(directory: Path, charts: int, versions: int) -> Path:
    """An index of ``charts`` x ``versions`` entries with long descriptions (~1 KB each)."""
    directory.mkdir(parents=True)
    path = directory / "index.yaml"
    with path.open("w") as out:
        out.write("apiVersion: v1\nentries:\n")
        for c in range(charts):
            out.write(f"  chart{c}:\n")
            for v in range(versions):
                out.write(VERSION.format(c=f"chart{c}", v=v, pad="word " * 180, digest="ab" * 32))
    return path


class Recording(HttpClient):
    """The real client, with every read the parser makes of a body counted (a seam, no patch)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.largest = 0  # the most bytes one read handed the parser

    def stream(
        self, request: Request, deadline: Deadline, consume: Callable[[Reply, BodyReader], T]
    ) -> T:
        def counted(head: Reply, body: BodyReader) -> T:
            return consume(head, CountedBody(body, self))  # type: ignore[arg-type]

        return super().stream(request, deadline, counted)


class CountedBody:
    """A body that counts the reads made of it, for ``Recording``."""

    def __init__(self, body: BodyReader, recording: Recording) -> None:
        self._body = body
        self._recording = recording

    def read(self, size: int = -1) -> bytes:
        assert size >= 0, "the parser never asks for the whole body"
        chunk = self._body.read(size)
        self._recording.reads += 1
        self._recording.largest = max(self._recording.largest, len(chunk))
        return chunk

    @property
    def size(self) -> int:
        return self._body.size

    @property
    def held(self) -> int:
        return self._body.held

    @property
    def end_checked(self) -> bool:
        return self._body.end_checked


def test_a_large_index_is_parsed_as_it_arrives(helm_repo: HelmRepoServer, tmp_path: Path) -> None:
    """The bound is counted: bytes held by the reader, bytes per read, not time or RSS."""
    path = f"large-{uuid.uuid4().hex[:8]}"
    size = large_index(helm_repo.root / path, charts=40, versions=100).stat().st_size
    assert size > 4_000_000
    recording = Recording()
    repos = HelmRepositories(
        recording, lambda host: Access(insecure=True), cache_dir=tmp_path / "cache"
    )
    first = repos.read(helm_repo.url(path))
    assert first.status == 200 and first.size == size
    assert sum(len(v) for v in first.index.charts.values()) == 4000
    assert 0 < first.held <= CHUNK, "one socket chunk at a time, whatever the index's size"
    assert recording.largest <= 16 * 1024 and recording.reads >= size // (16 * 1024)

    warm = HelmRepositories(
        Recording(), lambda host: Access(insecure=True), cache_dir=tmp_path / "cache"
    )
    second = warm.read(helm_repo.url(path))
    assert second.status == 304 and second.held == 0 and second.index == first.index
    assert helm_repo.statuses(f"{path}/index.yaml", 2) == [200, 304]


def test_the_disk_cache_holds_the_parsed_form_written_whole(
    helm_repo: HelmRepoServer, tmp_path: Path
) -> None:
    path = publish(helm_repo)
    cache = tmp_path / "cache"
    read = repositories(allow(helm_repo, insecure=True), cache).read(helm_repo.url(path))
    files = sorted(p.name for p in cache.iterdir())
    assert len(files) == 1 and files[0].endswith(".jsonl"), "no temporary file left behind"
    lines = (cache / files[0]).read_text().splitlines()
    header, chart, trailer = (json.loads(line) for line in lines)
    assert header["format"] == 2 and header["url"] == f"{helm_repo.url(path)}/index.yaml"
    assert header["etag"] and header["modified"]
    assert chart[0] == "web" and [row[0] for row in chart[1]] == ["1.0.0", "1.1.0", "2.0.0"]
    assert trailer == {"end": 1}

    (cache / files[0]).write_text("\n".join(lines[:2]) + "\n")  # a copy without its trailer
    again = repositories(allow(helm_repo, insecure=True), cache).read(helm_repo.url(path))
    assert again.status == 200 and again.index == read.index, "a cut copy is read again"
    assert helm_repo.statuses(f"{path}/index.yaml", 3) == [200, 304, 200]


def test_a_gzip_encoded_index_is_decoded_as_it_streams(
    helm_repo: HelmRepoServer, tmp_path: Path
) -> None:
    path = publish(helm_repo)
    index = helm_repo.root / path / "index.yaml"
    (index.parent / "index.yaml.gz").write_bytes(gzip.compress(index.read_bytes()))
    read = repositories(allow(helm_repo, insecure=True)).read(helm_repo.url(path))
    assert read.status == 200 and read.size == index.stat().st_size
    assert [v.version for v in read.index.versions("web")] == ["1.0.0", "1.1.0", "2.0.0"]


def test_the_index_cap_is_a_setting_of_the_host(helm_repo: HelmRepoServer) -> None:
    path = publish(helm_repo)  # an index of about a kilobyte
    size = len((helm_repo.root / path / "index.yaml").read_bytes())
    source = ChartSource(helm_repo.url(path), "web")

    def catalog(cap: int | None) -> ChartCatalog:
        entry: dict[str, object] = {"host": helm_repo.host, "insecure": True}
        if cap is not None:
            entry["max_index_bytes"] = cap
        sources = [{"name": "fleet", "url": "/nowhere"}]
        return chart_catalog(parse_config({"sources": sources, "registries": [entry]}))

    small = catalog(size - 1).candidates(source)
    assert isinstance(small, ChartError) and not small.transient
    assert str(small) == (
        f"{helm_repo.url(path)}/index.yaml: answer of {size} bytes is over the {size - 1}-byte"
        f" limit; raise max_index_bytes of {helm_repo.host} under registries: in automator.yaml"
        " if the index is that large"
    )
    assert [c.tag for c in catalog(size).candidates(source)] == ["1.0.0", "1.1.0", "2.0.0"]
    assert Registry(host="x").max_index_bytes == 64 << 20  # the default

    bigger = [*CHARTS, *(Chart("web", f"3.{n}.0") for n in range(40))]
    write_index(helm_repo.root / path, bigger)
    larger = len((helm_repo.root / path / "index.yaml").read_bytes())
    assert larger > 4 * size
    refused = catalog(2 * size).candidates(source)
    assert isinstance(refused, ChartError) and f"over the {2 * size}-byte limit" in str(refused)
    admitted = catalog(larger).candidates(source)
    assert not isinstance(admitted, ChartError) and len(admitted) == 43
