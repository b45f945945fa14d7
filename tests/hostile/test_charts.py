"""Hostile chart repositories: a YAML bomb index, archives on another host, a version with a
newline; indexes too deep, too long, not UTF-8, over the byte cap (declared, or found while
decoding gzip), cut short. Each gets a one-line message, and nothing is written or cached."""

from __future__ import annotations

import gzip
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from automator.charts.repository import Access, HelmRepositories
from automator.errors import ChartError
from automator.http import BodyReader, Deadline, HttpClient, Reply, Request, Retry
from testing.gitserver import GitDaemon, make_bare_repo
from testing.helmrepo import Chart, HelmRepoServer, write_index
from tests.e2e.test_skeleton import automator, commits, write_config

T = TypeVar("T")
BOMB = """\
apiVersion: v1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
entries:
  web:
  - {name: web, version: 1.9.0, urls: [web-1.9.0.tgz], extra: *f}
"""
RELEASE = """\
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {{name: {name}}}
spec: {{url: "{url}"}}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: {name}}}
spec:
  chart:
    spec:
      chart: web
      version: 1.0.0 # automator: semver:^1
      sourceRef: {{kind: HelmRepository, name: {name}}}
"""


def test_hostile_indexes_write_nothing(
    tmp_path: Path, helm_repo: HelmRepoServer, git_daemon: GitDaemon
) -> None:
    suffix = uuid.uuid4().hex[:8]
    bomb, foreign, newline = (f"{kind}-{suffix}" for kind in ("bomb", "foreign", "newline"))
    (helm_repo.root / bomb).mkdir()
    (helm_repo.root / bomb / "index.yaml").write_text(BOMB)
    index = write_index(helm_repo.root / foreign, [Chart("web", "1.0.0"), Chart("web", "1.1.0")])
    index.write_text(index.read_text().replace("- web-1.1.0.tgz", "- https://evil.example/w.tgz"))
    index = write_index(helm_repo.root / newline, [Chart("web", "1.0.0"), Chart("web", "1.2.0")])
    index.write_text(index.read_text().replace("version: 1.2.0", 'version: "1.2.0\\nx: y"'))
    text = "".join(RELEASE.format(name=n, url=helm_repo.url(n)) for n in (bomb, foreign, newline))
    remote = make_bare_repo(git_daemon.base / "hostile.git", {"apps/releases.yaml": text})
    config = write_config(
        tmp_path / "automator.yaml", git_daemon.url("hostile.git"), helm_repo.host
    )
    before = commits(remote)

    result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
    assert commits(remote) == before, "nothing is written"
    lines = result.stderr.splitlines()
    said = {
        "anchors and aliases are refused in index.yaml": bomb,
        "has its archive on evil.example, another host; not a candidate": foreign,
        "1 versions in index.yaml dropped": newline,
    }
    for words, repo in said.items():
        found = [line for line in lines if words in line and repo in line]
        assert len(found) == 1, (words, result.stderr)
    assert result.returncode != 0, "the unreadable index is a failure a person must see"


def _plain(body: bytes) -> dict[str, bytes]:
    return {"index.yaml": body}


def _gzipped(body: bytes, cut: int = 0) -> dict[str, bytes]:
    packed = gzip.compress(body)
    return {"index.yaml": b"entries: {}\n", "index.yaml.gz": packed[: len(packed) - cut]}


VERSIONS = b"apiVersion: v1\nentries:\n  web:\n" + b"  - {version: 1.0.0, name: web}\n" * 80_000
LIMIT = 1024 * 1024
HOSTILE = {  # what nginx serves -> the words of the one line
    "bomb": (_plain(BOMB.encode()), "anchors and aliases are refused in index.yaml"),
    "deep": (_plain(b"entries:\n  c:\n  - " + b"[" * 40 + b"]" * 40 + b"\n"), "nested deeper"),
    "long": (_plain(b"entries: {c: [{version: '" + b"9" * 70_000 + b"'}]}\n"), "longer than"),
    "utf8": (_plain(b"entries:\n  web:\n  - {version: 1.0.0\xff}\n"), "not UTF-8 text"),
    "declared-over-cap": (_plain(VERSIONS), f"answer of {len(VERSIONS)} bytes is over the {LIMIT}"),
    "gzip-over-cap": (_gzipped(VERSIONS), f"answer is over the {LIMIT}-byte limit"),
    "gzip-cut": (_gzipped(VERSIONS[: LIMIT // 2], cut=100), "compressed body is corrupt"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_index_is_one_line_and_nothing_is_cached(
    tmp_path: Path, helm_repo: HelmRepoServer, kind: str
) -> None:
    files, words = HOSTILE[kind]
    path = f"{kind}-{uuid.uuid4().hex[:8]}"
    (helm_repo.root / path).mkdir()
    for name, body in files.items():
        (helm_repo.root / path / name).write_bytes(body)
    cache = tmp_path / "cache"
    repos = HelmRepositories(
        HttpClient(),
        lambda host: Access(insecure=True),
        cache_dir=cache,
        limit=LIMIT,
        retry=Retry(attempts=1),
    )
    with pytest.raises(ChartError) as caught:
        repos.read(helm_repo.url(path))
    said = str(caught.value)
    assert words in said and said.startswith(helm_repo.url(path)) and "\n" not in said
    assert not cache.exists() or not list(cache.iterdir()), "nothing cached, not even in part"
    assert helm_repo.statuses(f"{path}/index.yaml", 1) == [200]


class CutMidway(HttpClient):
    """The real client; once an answer's head has come, the file nginx is sending shrinks.

    nginx then stops short of the length it declared and closes the connection.
    """

    def __init__(self, file: Path, keep: int) -> None:
        super().__init__()
        self.file = file
        self.keep = keep

    def stream(
        self, request: Request, deadline: Deadline, consume: Callable[[Reply, BodyReader], T]
    ) -> T:
        def cut(head: Reply, body: BodyReader) -> T:
            with self.file.open("r+b") as file:
                file.truncate(self.keep)
            return consume(head, body)

        return super().stream(request, deadline, cut)


def test_an_index_cut_off_mid_stream_is_one_line_and_nothing_is_cached(
    tmp_path: Path, helm_repo: HelmRepoServer
) -> None:
    path = f"cut-{uuid.uuid4().hex[:8]}"
    (helm_repo.root / path).mkdir()
    index = helm_repo.root / path / "index.yaml"
    head = b"apiVersion: v1\nentries:\n  web:\n  - {version: 1.0.0, name: web}\n"
    filler = b"#" + b"x" * 98 + b"\n"  # more than the sockets between us hold
    index.write_bytes(head + filler * 400_000)
    cache = tmp_path / "cache"
    repos = HelmRepositories(
        CutMidway(index, 1_000_000),
        lambda host: Access(insecure=True),
        cache_dir=cache,
        retry=Retry(attempts=1),
    )
    with pytest.raises(ChartError) as caught:
        repos.read(helm_repo.url(path))
    said = str(caught.value)
    assert said.startswith(f"{helm_repo.url(path)}: the answer was cut off after ")
    assert caught.value.transient and "\n" not in said
    assert not cache.exists() or not list(cache.iterdir()), "nothing cached, not even in part"


class ClosingServer:
    """A raw HTTP/1.1 server on 127.0.0.1 that answers every request with ``body`` and no
    Content-Length, ending it by closing the connection (as a cut connection ends too)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with conn:
                received = b""
                while b"\r\n\r\n" not in received and (chunk := conn.recv(4096)):
                    received += chunk
                self.requests += 1
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-yaml\r\n"
                conn.sendall(head + b"Connection: close\r\n\r\n" + self.body)

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def whole_index(tmp_path: Path) -> bytes:
    charts = [Chart("web", v) for v in ("1.0.0", "1.1.0", "1.10.0")]
    return write_index(tmp_path / "charts", charts).read_bytes()


@pytest.mark.parametrize("cut", ["line", "mid-version"])
def test_an_index_cut_where_http_cannot_tell_is_refused(
    tmp_path: Path, whole_index: bytes, cut: str
) -> None:
    text = whole_index.decode()
    if cut == "line":  # after web 1.1.0's last line: 1.10.0 is lost
        body = text[: text.index("version: 1.1.0\n") + len("version: 1.1.0\n")]
    else:  # in the middle of web 1.10.0's version: it would read as 1.1
        body = text[: text.index("version: 1.10.0") + len("version: 1.1")]
    assert "generated" not in body
    server = ClosingServer(body.encode())
    cache = tmp_path / "cache"
    repos = HelmRepositories(
        HttpClient(), lambda host: Access(insecure=True), cache_dir=cache, retry=Retry(attempts=1)
    )
    url = f"http://{server.host}/charts"
    try:
        with pytest.raises(ChartError) as caught:
            repos.read(url)
        server.body = whole_index  # the same way, whole: read
        versions = [v.version for v in repos.read(url).index.versions("web")]
    finally:
        server.close()
    said = str(caught.value)
    assert said.startswith(f"{url}: ends without the generated: that helm repo index writes")
    assert "may be cut off" in said and "\n" not in said and caught.value.transient
    assert versions == ["1.0.0", "1.1.0", "1.10.0"] and server.requests == 2
