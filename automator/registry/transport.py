"""HTTP to registries: per-host budgets, retries, deadlines and capped bodies.

Every request has a connect and read timeout, runs inside the deadline of the call
that made it, and reads at most ``max_body`` bytes. 429 and 503 honour ``Retry-After``
and halve the host's rate; 5xx, resets and timeouts are retried with jittered
backoff. Redirects are followed by hand so that an ``Authorization`` header only
ever goes to the origin it was made for.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import tenacity
import urllib3

from automator import metrics
from automator.errors import RegistryError
from automator.registry.hangup import hang_up_at, install
from automator.registry.settings import RegistrySettings

logger = logging.getLogger(__name__)

ACCEPT_ENCODING = "gzip, deflate"  # decoded by _read_capped, within the body cap

MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def origin(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of ``url``, lower-cased."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class Deadline:
    """The time left for one call, retries included."""

    __slots__ = ("_end", "what")

    def __init__(self, seconds: float, what: str) -> None:
        self._end = time.monotonic() + seconds
        self.what = what

    def remaining(self) -> float:
        return self._end - time.monotonic()

    def check(self) -> float:
        left = self.remaining()
        if left <= 0:
            raise RegistryError(
                f"{self.what}: gave up at the deadline; the registry is slow or down, try later",
                transient=True,
            )
        return left


@dataclass(frozen=True, slots=True)
class Reply:
    """A response with its body already read (and capped)."""

    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes
    links: Mapping[str, Mapping[str, str]]


class HostBudget:
    """Requests per second and requests in flight allowed to one host."""

    def __init__(self, requests_per_second: float, max_concurrency: int, host: str = "") -> None:
        self.host = host
        self.base_rate = requests_per_second
        self.rate = requests_per_second
        self._slots = threading.BoundedSemaphore(max(1, max_concurrency))
        self._lock = threading.Lock()
        self._next_at = 0.0

    @contextmanager
    def slot(self, deadline: Deadline) -> Iterator[None]:
        """Wait for a free slot and for the rate limit, then hold the slot."""
        if not self._slots.acquire(timeout=max(0.0, deadline.check())):
            deadline.check()
            raise RegistryError(f"{deadline.what}: no free connection slot", transient=True)
        try:
            self._pace(deadline)
            yield
        finally:
            self._slots.release()

    def _pace(self, deadline: Deadline) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_at)
            if self.rate > 0:
                self._next_at = at + 1.0 / self.rate
        if at - now > deadline.remaining():
            raise RegistryError(
                f"{deadline.what}: the request budget for this host is spent until after the"
                " deadline; lower the load or raise requests_per_second",
                transient=True,
            )
        if at > now:
            metrics.RATE_LIMIT_WAITS.labels(host=self.host).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(host=self.host).inc(at - now)
            time.sleep(at - now)

    def slow_down(self, wait: float) -> None:
        """A 429/503: halve the rate and hold every request for ``wait`` seconds."""
        with self._lock:
            if self.base_rate > 0:
                self.rate = max(self.base_rate / 64, self.rate / 2)
            self._next_at = max(self._next_at, time.monotonic() + wait)

    def recover(self) -> None:
        """A success: win back a fiftieth of the configured rate."""
        if self.rate < self.base_rate:
            with self._lock:
                self.rate = min(self.base_rate, self.rate + self.base_rate / 50)


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Again(Exception):
    """A failed attempt that another attempt may fix."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class Transport:
    """One ``requests.Session`` and a budget per host."""

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        install(session)  # so that the deadline can cut a read that drips a byte at a time
        self._budgets: dict[str, HostBudget] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0

    def budget(self, host: str, settings: RegistrySettings) -> HostBudget:
        with self._lock:
            budget = self._budgets.get(host)
            if budget is None:
                budget = HostBudget(
                    settings.requests_per_second, settings.max_concurrency, settings.key
                )
                self._budgets[host] = budget
            return budget

    def request(
        self,
        method: str,
        url: str,
        *,
        settings: RegistrySettings,
        deadline: Deadline,
        headers: Mapping[str, str] | None = None,
        authorization: str | None = None,
        data: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> Reply:
        """Send one request with retries; any status comes back, only transport fails raise."""
        wait_backoff = tenacity.wait_random_exponential(multiplier=0.2, max=10)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            chosen = exc.wait if isinstance(exc, _Again) and exc.wait is not None else None
            pause = wait_backoff(state) if chosen is None else chosen
            return max(0.0, min(pause, settings.max_retry_wait, deadline.remaining() - 0.05))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Again),
            stop=tenacity.stop_after_attempt(settings.max_attempts),
            wait=wait,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    reply = self._once(
                        method, url, settings, deadline, headers, authorization, data, limit
                    )
        except _Again as exc:
            raise RegistryError(
                f"{deadline.what}: {exc.reason} after {settings.max_attempts} attempts;"
                " check the registry address and the network, or try later",
                transient=True,
            ) from None
        return reply

    def _once(
        self,
        method: str,
        url: str,
        settings: RegistrySettings,
        deadline: Deadline,
        headers: Mapping[str, str] | None,
        authorization: str | None,
        data: Mapping[str, str] | None,
        limit: int | None,
    ) -> Reply:
        home = origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            sent = dict(headers or {})
            if authorization is not None and origin(url) == home:
                sent["Authorization"] = authorization  # never to another origin
            budget = self.budget(origin(url)[1], settings)
            with budget.slot(deadline):
                reply = self._send(method, url, settings, deadline, sent, data, limit)
            if reply.status in (429, 503):
                pause = retry_after(reply.headers.get("Retry-After"))
                budget.slow_down(pause or 1.0)
                if pause is not None and pause > min(settings.max_retry_wait, deadline.remaining()):
                    raise RegistryError(
                        f"{deadline.what}: HTTP {reply.status}, Retry-After {pause:.0f}s is past"
                        " the deadline; the registry's rate limit is spent, try later",
                        transient=True,
                    )
                raise _Again(f"HTTP {reply.status}", pause)
            if reply.status in RETRY_STATUSES:
                raise _Again(f"HTTP {reply.status}")
            budget.recover()
            location = reply.headers.get("Location")
            if reply.status not in (301, 302, 303, 307, 308) or not location:
                return reply
            url = urljoin(url, location)
            if origin(url)[0] not in ("http", "https"):
                break
            if method == "POST" and reply.status == 303:
                method, data = "GET", None
        raise RegistryError(
            f"{deadline.what}: too many or bad redirects; check the registry address",
        )

    def _send(
        self,
        method: str,
        url: str,
        settings: RegistrySettings,
        deadline: Deadline,
        headers: dict[str, str],
        data: Mapping[str, str] | None,
        limit: int | None,
    ) -> Reply:
        left = deadline.check()
        with hang_up_at(left) as watch:
            try:
                reply = self._exchange(method, url, settings, deadline, headers, data, limit, left)
            except _Again:
                if watch.fired:
                    deadline.check()  # we hung up at the deadline: say that, not "no connection"
                raise
        if watch.fired:  # a cut during the headers can look like an empty answer
            deadline.check()
        return reply

    def _exchange(
        self,
        method: str,
        url: str,
        settings: RegistrySettings,
        deadline: Deadline,
        headers: dict[str, str],
        data: Mapping[str, str] | None,
        limit: int | None,
        left: float,
    ) -> Reply:
        timeout = (min(settings.connect_timeout, left), min(settings.read_timeout, left))
        cap = settings.max_body if limit is None else limit
        try:
            resp = self.session.request(
                method,
                url,
                headers={"Accept-Encoding": ACCEPT_ENCODING, **headers},
                data=data,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
                verify=settings.verify,
                cert=settings.cert,
            )
            with self._lock:
                self.requests_sent += 1
            with resp:
                body = b"" if method == "HEAD" else _read_capped(resp, cap, deadline)
        except requests.exceptions.SSLError as exc:
            raise RegistryError(
                f"{deadline.what}: TLS failed ({_first_line(exc)}); check ca_bundle and"
                " client_cert, or set insecure: true for a plain-HTTP registry",
            ) from None
        except requests.ConnectionError as exc:
            kind = "timed out" if isinstance(exc, requests.ConnectTimeout) else "no connection"
            raise _Again(f"cannot reach {urlsplit(url).netloc} ({kind})") from None
        except requests.Timeout:
            raise _Again(f"{urlsplit(url).netloc} did not answer in time") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise _Again(type(exc).__name__) from None
        return Reply(resp.status_code, resp.url, resp.headers, body, resp.links)


def _read_capped(resp: requests.Response, cap: int, deadline: Deadline) -> bytes:
    """The body, or a RegistryError past ``cap`` bytes or past the deadline."""
    declared = resp.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise RegistryError(
            f"{deadline.what}: answer of {int(declared)} bytes is over the {cap}-byte limit;"
            " raise max_body if this registry is trusted",
        )
    decoder = _decoder(resp.headers.get("Content-Encoding", ""), deadline)
    body = bytearray()

    def over() -> RegistryError:
        return RegistryError(
            f"{deadline.what}: answer is over the {cap}-byte limit;"
            " raise max_body if this registry is trusted",
        )

    # decoded here, never more than the cap plus one byte at a time: a gzip bomb
    # cannot expand in memory past the limit before it is noticed
    while raw := resp.raw.read1(64 * 1024, decode_content=False):  # whatever has arrived
        deadline.check()
        if decoder is None:
            body += raw
        while decoder is not None and raw:
            try:
                body += decoder.decompress(raw, cap - len(body) + 1)
            except zlib.error:
                raise RegistryError(
                    f"{deadline.what}: answer's compressed body is corrupt", transient=True
                ) from None
            raw = decoder.unconsumed_tail
            if len(body) > cap:
                raise over()
        if len(body) > cap:
            raise over()
    if decoder is not None:
        body += decoder.flush()
    if len(body) > cap:
        raise over()
    return bytes(body)


def _decoder(encoding: str, deadline: Deadline) -> Any:
    """A zlib decompressor for the answer's Content-Encoding, None for identity."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise RegistryError(
        f"{deadline.what}: answer in unsupported Content-Encoding {encoding[:40]!r}",
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
