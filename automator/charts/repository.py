"""Classic Helm repositories: ``<url>/index.yaml`` over HTTP(S), cached by its validators.

Each read sends the ``ETag`` and ``Last-Modified`` of the copy we hold (``If-None-Match``,
``If-Modified-Since``); a 304 costs no body and no parse. The parsed index is kept in
memory and, with a ``cache_dir``, on disk (``charts.indexcache``), so the next process
starts warm.

Which hosts may be asked, and with which credentials and CA bundle, is the caller's
``access`` function (the ``registries:`` allow-list of automator.yaml): a host it
refuses is never contacted. The body is parsed while it arrives from the socket
(``Http.stream``, ``charts.index``), within the host's ``max_index_bytes`` or else
``limit`` bytes (counted after gzip is decoded): the index is never held whole, only
what the parser keeps of it, so the cap bounds time and bandwidth, not memory.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Final
from urllib.parse import urlsplit

from automator.charts.index import ChartIndex, read_index
from automator.charts.indexcache import IndexCache, Validators
from automator.errors import ChartError, HttpError
from automator.http import (
    Again,
    BodyReader,
    Deadline,
    MiB,
    Reply,
    Request,
    Retry,
    StreamingHttp,
    TooLarge,
    host_of,
)
from automator.http.retry import retrying
from automator.secrets import Secret

logger = logging.getLogger(__name__)

DEFAULT_LIMIT: Final = 64 * MiB


@dataclass(frozen=True, slots=True)
class Access:
    """How to reach one repository host: Basic auth and the CAs to trust."""

    username: str | None = None
    password: Secret | None = None
    ca_bundle: str | None = None
    insecure: bool = False  # plain http:// is allowed only then
    max_index_bytes: int | None = None  # the index's cap; None: the reader's ``limit``


@dataclass(frozen=True, slots=True)
class IndexRead:
    """One read of an index: the charts, the HTTP status (200 or 304) and the body size.

    ``held`` is the most body bytes held at once while parsing (0 for a 304): the
    bound that streaming keeps, whatever the size.
    """

    index: ChartIndex
    status: int
    size: int = 0
    held: int = 0


@dataclass(frozen=True, slots=True)
class _Cached:
    validators: Validators
    index: ChartIndex


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    validators: Validators | None = None
    index: ChartIndex | None = None
    size: int = 0
    held: int = 0


def index_url(repo_url: str) -> str:
    """``<repo_url>/index.yaml`` (one slash between)."""
    return repo_url.rstrip("/") + "/index.yaml"


class HelmRepositories:
    """Reads chart repositories' indexes through ``http``; safe to share across threads."""

    def __init__(
        self,
        http: StreamingHttp,
        access: Callable[[str], Access],
        *,
        cache_dir: Path | None = None,
        limit: int = DEFAULT_LIMIT,
        seconds: float = 120.0,
        retry: Retry | None = None,
    ) -> None:
        self._http = http
        self._access = access
        self._disk = IndexCache(cache_dir) if cache_dir is not None else None
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
        host = host_of(url)
        if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
            raise ChartError(f"{repo_url}: a Helm repository URL is http(s)://host/path")
        access = self._access(host)
        if parts.scheme == "http" and not access.insecure:
            raise ChartError(
                f"{repo_url}: plain http; use https, or set insecure: true for {host} in"
                " registries: of automator.yaml"
            )
        held = self._validators(url)
        answer = self._fetch(repo_url, url, access, held)
        if answer.status == 304 and held is not None:
            index = self._held_index(url, held)
            if index is not None:
                return IndexRead(index, 304)
            answer = self._fetch(repo_url, url, access, None)  # the copy went away: read it all
        if answer.status in (401, 403):
            raise ChartError(
                f"{repo_url}: {answer.status} reading index.yaml; check the credentials"
                f" for {host} in registries: of automator.yaml"
            )
        if answer.index is None or answer.validators is None:
            raise ChartError(f"{repo_url}: {answer.status} reading index.yaml")
        self._store(url, _Cached(answer.validators, answer.index))
        return IndexRead(answer.index, 200, answer.size, answer.held)

    def _fetch(self, repo_url: str, url: str, access: Access, held: Validators | None) -> _Answer:
        """One conditional GET, its 200 body parsed as it arrives."""
        host = host_of(url)
        deadline = Deadline(self._seconds, url, self._http.now)
        request = Request(
            "GET",
            url,
            headers=self._headers(access, held),
            limit=access.max_index_bytes or self._limit,
            verify=access.ca_bundle or True,
            timeout=(10.0, 60.0),
        )

        def consume(head: Reply, body: BodyReader) -> _Answer:
            if head.status == 429 or head.status >= 500:
                raise Again(f"{host} answered {head.status}")
            if head.status != 200:
                return _Answer(head.status)
            index = read_index(body, where=repo_url, trailer=not body.end_checked)
            found = Validators(head.headers.get("ETag", ""), head.headers.get("Last-Modified", ""))
            return _Answer(200, found, index, body.size, body.held)

        def attempt() -> _Answer:
            return self._http.stream(request, deadline, consume)

        try:
            return retrying(attempt, deadline=deadline, policy=self._retry, sleep=self._http.sleep)
        except Again as again:
            raise ChartError(f"{repo_url}: {again.reason}", transient=True) from again
        except TooLarge as exc:  # its message names the URL and the cap already
            raise ChartError(
                f"{exc}; raise max_index_bytes of {host} under registries: in automator.yaml"
                " if the index is that large"
            ) from exc
        except HttpError as exc:  # its message names the URL already
            raise ChartError(str(exc), transient=exc.transient) from exc

    def _headers(self, access: Access, held: Validators | None) -> dict[str, str]:
        headers = {"Accept": "application/x-yaml, text/yaml, */*"}
        if access.username is not None and access.password is not None:
            pair = f"{access.username}:{access.password.reveal()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if held is not None and held.etag:
            headers["If-None-Match"] = held.etag
        if held is not None and held.modified:
            headers["If-Modified-Since"] = held.modified
        return headers

    def _validators(self, url: str) -> Validators | None:
        """The validators of the copy held, in memory or on disk (its first line only)."""
        with self._lock:
            found = self._memory.get(url)
        if found is not None:
            return found.validators
        return self._disk.validators(url) if self._disk is not None else None

    def _held_index(self, url: str, validators: Validators) -> ChartIndex | None:
        """The copy a 304 confirmed: from memory, or read from disk a chart at a time."""
        with self._lock:
            found = self._memory.get(url)
        if found is not None and found.validators == validators:
            return found.index
        index = self._disk.load(url, validators) if self._disk is not None else None
        if index is not None:
            with self._lock:
                self._memory[url] = _Cached(validators, index)
        return index

    def _store(self, url: str, cached: _Cached) -> None:
        with self._lock:
            self._memory[url] = cached
        if self._disk is not None and (cached.validators.etag or cached.validators.modified):
            self._disk.store(url, cached.validators, cached.index)
