"""Classic Helm repositories: ``<url>/index.yaml`` over HTTP(S), cached by its validators.

Each read sends the ``ETag`` and ``Last-Modified`` of the copy we hold (``If-None-Match``,
``If-Modified-Since``); a 304 costs no body and no parse. The parsed index is kept in
memory and, with a ``cache_dir``, on disk as JSON, so the next process starts warm.

Which hosts may be asked, and with which credentials and CA bundle, is the caller's
``access`` function (the ``registries:`` allow-list of automator.yaml): a host it
refuses is never contacted. The body is read within ``limit`` bytes (gzip included)
and parsed as a stream (``charts.index``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from threading import Lock
from typing import Any, Final
from urllib.parse import urlsplit

from automator.charts.index import ChartIndex, ChartVersion, read_index
from automator.errors import ChartError, HttpError
from automator.http import Again, Deadline, Http, MiB, Reply, Request, Retry
from automator.secrets import Secret

logger = logging.getLogger(__name__)

DEFAULT_LIMIT: Final = 64 * MiB
_CACHE_FORMAT: Final = 1


@dataclass(frozen=True, slots=True)
class Access:
    """How to reach one repository host: Basic auth and the CAs to trust."""

    username: str | None = None
    password: Secret | None = None
    ca_bundle: str | None = None
    insecure: bool = False  # plain http:// is allowed only then


@dataclass(frozen=True, slots=True)
class IndexRead:
    """One read of an index: the charts, the HTTP status (200 or 304) and the body size."""

    index: ChartIndex
    status: int
    size: int = 0


@dataclass(frozen=True, slots=True)
class _Cached:
    etag: str
    modified: str
    index: ChartIndex


def index_url(repo_url: str) -> str:
    """``<repo_url>/index.yaml`` (one slash between)."""
    return repo_url.rstrip("/") + "/index.yaml"


class HelmRepositories:
    """Reads chart repositories' indexes through ``http``; safe to share across threads."""

    def __init__(
        self,
        http: Http,
        access: Callable[[str], Access],
        *,
        cache_dir: Path | None = None,
        limit: int = DEFAULT_LIMIT,
        seconds: float = 120.0,
        retry: Retry | None = None,
    ) -> None:
        self._http = http
        self._access = access
        self._cache_dir = cache_dir
        self._limit = limit
        self._seconds = seconds
        self._retry = retry or Retry()
        self._memory: dict[str, _Cached] = {}
        self._lock = Lock()

    def read(self, repo_url: str) -> IndexRead:
        """The index of the repository at ``repo_url``; ChartError if it cannot be had.

        ``access`` raises ChartError for a host it does not allow: nothing is sent then.
        """
        url = index_url(repo_url)
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2].lower()
        if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
            raise ChartError(f"{repo_url}: a Helm repository URL is http(s)://host/path")
        access = self._access(host)
        if parts.scheme == "http" and not access.insecure:
            raise ChartError(
                f"{repo_url}: plain http; use https, or set insecure: true for {host} in"
                " registries: of automator.yaml"
            )
        cached = self._cached(url)
        headers = self._headers(access, cached)
        deadline = Deadline(self._seconds, url, self._http.now)
        request = Request(
            "GET",
            url,
            headers=headers,
            limit=self._limit,
            verify=access.ca_bundle or True,
            timeout=(10.0, 60.0),
        )

        def attempt() -> Reply:
            reply = self._http.send(request, deadline)
            if reply.status == 429 or reply.status >= 500:
                raise Again(f"{host} answered {reply.status}")
            return reply

        try:
            reply = self._http.retry(attempt, deadline=deadline, policy=self._retry)
        except Again as again:
            raise ChartError(f"{repo_url}: {again.reason}", transient=True) from again
        except HttpError as exc:  # its message names the URL already
            raise ChartError(str(exc), transient=exc.transient) from exc
        if reply.status == 304 and cached is not None:
            return IndexRead(cached.index, 304)
        if reply.status in (401, 403):
            raise ChartError(
                f"{repo_url}: {reply.status} reading index.yaml; check the credentials"
                f" for {host} in registries: of automator.yaml"
            )
        if reply.status != 200:
            raise ChartError(f"{repo_url}: {reply.status} reading index.yaml")
        index = read_index(reply.body, where=repo_url)
        etag, modified = reply.headers.get("ETag", ""), reply.headers.get("Last-Modified", "")
        self._store(url, _Cached(etag, modified, index))
        return IndexRead(index, 200, len(reply.body))

    def _headers(self, access: Access, cached: _Cached | None) -> dict[str, str]:
        headers = {"Accept": "application/x-yaml, text/yaml, */*"}
        if access.username is not None and access.password is not None:
            pair = f"{access.username}:{access.password.reveal()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.modified:
            headers["If-Modified-Since"] = cached.modified
        return headers

    def _cached(self, url: str) -> _Cached | None:
        with self._lock:
            found = self._memory.get(url)
        if found is not None or self._cache_dir is None:
            return found
        path = self._path(url)
        try:
            stored = json.loads(path.read_text())
            if stored.get("format") != _CACHE_FORMAT or stored.get("url") != url:
                return None
            charts = {
                name: tuple(_version(v) for v in versions)
                for name, versions in stored["charts"].items()
            }
            found = _Cached(stored["etag"], stored["modified"], ChartIndex(charts))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.debug("no usable cached index for %s: %s", url, exc)
            return None
        with self._lock:
            self._memory[url] = found
        return found

    def _store(self, url: str, cached: _Cached) -> None:
        with self._lock:
            self._memory[url] = cached
        if self._cache_dir is None or not (cached.etag or cached.modified):
            return
        charts = {n: [asdict(v) for v in vs] for n, vs in cached.index.charts.items()}
        doc = {"format": _CACHE_FORMAT, "url": url, "etag": cached.etag}
        doc |= {"modified": cached.modified, "charts": charts}
        path = self._path(url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(doc, separators=(",", ":")))
            partial.replace(path)
        except OSError as exc:
            logger.warning("cannot cache the index of %s in %s: %s", url, path.parent, exc)

    def _path(self, url: str) -> Path:
        assert self._cache_dir is not None
        return self._cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")


def _version(stored: dict[str, Any]) -> ChartVersion:
    return ChartVersion(**{**stored, "sources": tuple(stored.get("sources") or ())})
