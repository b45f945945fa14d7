"""The ``Http`` seam and its implementation over one ``requests.Session``.

``send`` is one exchange: connect and read timeouts, a watchdog that hangs up at the
call's deadline (``hangup``), the body read within its cap (``body``), every answer
counted once, and transport failures turned into ``Again`` (worth another attempt)
or an ``HttpError``. ``stream`` is the same exchange with the body handed to the
caller as it arrives (``BodyReader``), for a body parsed as a stream. ``retry`` runs
attempts in the one retry loop (``retry``). The clock and the sleep are the
instance's, so tests can count waits and move time.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.utils import select_proxy

from automator import metrics
from automator.http.address import check_name, public_only
from automator.http.body import ACCEPT_ENCODING, BodyReader, read_capped
from automator.http.deadline import Deadline
from automator.http.errors import Again, DeadlinePassed, TlsFailed
from automator.http.hangup import hang_up_at, install
from automator.http.message import Reply, Request
from automator.http.retry import Retry, retrying

Count = Callable[[str, int], None]  # (host, status) of every answer
T = TypeVar("T")


class Http(Protocol):
    """Where automator's HTTP goes out; hand a fake or another instance to a client."""

    def now(self) -> float:
        """The clock deadlines and rate limits read (monotonic seconds)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait; every wait of a retry or a rate limit goes through here."""
        ...

    def send(self, request: Request, deadline: Deadline) -> Reply:
        """One exchange, cut at ``deadline``; Again when another attempt may help."""
        ...

    def retry(self, attempt: Callable[[], Reply], *, deadline: Deadline, policy: Retry) -> Reply:
        """``attempt()`` in the retry loop: again after each Again, within ``policy``."""
        ...


class StreamingHttp(Http, Protocol):
    """An ``Http`` that can also hand an answer's body over as it arrives."""

    def stream(
        self, request: Request, deadline: Deadline, consume: Callable[[Reply, BodyReader], T]
    ) -> T:
        """``consume(head, body)`` during one exchange; what it returns (``HttpClient.stream``)."""
        ...


def count_registry(host: str, status: int) -> None:
    """Count an answer in ``automator_registry_requests_total``."""
    metrics.REGISTRY_REQUESTS.labels(host=host, status=str(status)).inc()


def count_as(client: str) -> Count:
    """Count answers in ``automator_http_requests_total`` under ``client`` (forge, notify)."""

    def count(host: str, status: int) -> None:
        metrics.HTTP_REQUESTS.labels(client=client, host=host, status=str(status)).inc()

    return count


class HttpClient:
    """``Http`` over a ``requests.Session``; safe to share across threads."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        count: Count | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session if session is not None else requests.Session()
        install(self._session)  # so that the deadline can cut a read that drips a byte at a time
        self._count = count
        self._clock = clock
        self._sleep = sleep

    def now(self) -> float:
        return self._clock()

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def retry(self, attempt: Callable[[], Reply], *, deadline: Deadline, policy: Retry) -> Reply:
        return retrying(attempt, deadline=deadline, policy=policy, sleep=self._sleep)

    def send(self, request: Request, deadline: Deadline) -> Reply:
        def read(resp: requests.Response, head: Reply) -> Reply:
            if request.method == "HEAD":
                return head
            body = read_capped(resp, request.limit, deadline)
            return Reply(head.status, head.url, head.headers, body, head.reason)

        return self._watched(request, deadline, read)

    def stream(
        self, request: Request, deadline: Deadline, consume: Callable[[Reply, BodyReader], T]
    ) -> T:
        """``consume(head, body)`` while the answer arrives: ``head`` without its body,
        ``body`` read from the socket within ``request.limit``, cut at ``deadline``."""

        def read(resp: requests.Response, head: Reply) -> T:
            return consume(head, BodyReader(resp, request.limit, deadline))

        return self._watched(request, deadline, read)

    def _watched(
        self, request: Request, deadline: Deadline, finish: Callable[[requests.Response, Reply], T]
    ) -> T:
        left = deadline.check()
        with hang_up_at(left) as watch:
            try:
                result = self._exchange(request, deadline, left, finish)
            except (Again, DeadlinePassed) as failed:
                if watch.fired:  # we hung up at the deadline: say that, not "no connection"
                    raise deadline.passed(cut=True) from failed
                raise
        if watch.fired:  # a cut during the headers can look like an empty answer
            raise deadline.passed(cut=True)
        return result

    def _exchange(
        self,
        request: Request,
        deadline: Deadline,
        left: float,
        finish: Callable[[requests.Response, Reply], T],
    ) -> T:
        connect, read = request.timeout
        host = host_of(request.url)
        guard = public_only(deadline.what) if request.public_only else nullcontext()
        try:
            with guard:
                if request.public_only and self._proxied(request.url):
                    check_name(urlsplit(request.url).hostname or "")
                resp = self._session.request(
                    request.method,
                    request.url,
                    headers={"Accept-Encoding": ACCEPT_ENCODING, **request.headers},
                    data=request.data,
                    json=request.json,
                    params=request.params,
                    timeout=(min(connect, left), min(read, left)),
                    allow_redirects=False,
                    stream=True,
                    verify=request.verify,
                    cert=request.cert,
                )
            with resp:
                if self._count is not None:
                    self._count(host, resp.status_code)
                url = resp.url or request.url
                head = Reply(resp.status_code, url, resp.headers, b"", resp.reason or "")
                return finish(resp, head)
        except requests.exceptions.SSLError as exc:
            raise TlsFailed(deadline.what, tls_reason(exc)) from exc
        except requests.ConnectionError as exc:
            kind = "timed out" if isinstance(exc, requests.ConnectTimeout) else "no connection"
            raise Again(f"cannot reach {host} ({kind})") from exc
        except requests.Timeout as exc:
            raise Again(f"{host} did not answer in time") from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise Again(type(exc).__name__) from exc

    def _proxied(self, url: str) -> bool:
        """Whether ``url`` goes through a proxy (then the proxy, not we, dials the address)."""
        settings = self._session.merge_environment_settings(url, {}, False, None, None)
        return select_proxy(url, settings["proxies"]) is not None


def host_of(url: str) -> str:
    """``host[:port]`` of ``url``, without any user:password@."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


def tls_reason(exc: BaseException) -> str:
    """The TLS library's words inside ``exc`` ("[SSL: CERTIFICATE_VERIFY_FAILED] ..."), no URL."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLError):  # its text names the reason, never the URL
            if getattr(item, "reason", None) == "WRONG_VERSION_NUMBER":
                return "the server answered plain HTTP"
            return (str(item).splitlines() or [type(item).__name__])[0][:200]
        todo += [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
    return "handshake failed"
