"""One HTTP client for every forge: auth, rate limits and one-line errors, on the HTTP edge.

``automator.http`` sends (timeouts, a deadline per exchange, capped bodies) and runs
the retry loop. Here: rate limits are waited out when the forge says how long
(``Retry-After``, or ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset``; GitHub's
secondary limits are 403/429 with ``retry-after``) and the wait fits in
``max_wait_s``; otherwise the call fails with a transient ForgeError. Connection
errors and 5xx are retried with jittered exponential backoff inside the same budget.
Every other answer goes back to the caller, which turns unexpected ones into one-line
errors with ``error``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from automator.errors import ForgeError, HttpError
from automator.http import (
    Again,
    Deadline,
    Http,
    HttpClient,
    MiB,
    Reply,
    Request,
    Retry,
    TlsFailed,
    count_as,
    host_of,
    retry_after,
)
from automator.secrets import Secret

logger = logging.getLogger(__name__)

TIMEOUT = (5.0, 30.0)
EXCHANGE_S = 120.0  # one request and its answer, however slowly the forge drips it
MAX_BODY = 32 * MiB  # a page of 100 pull requests with long bodies fits many times
RETRY = Retry(attempts=6, max_wait=float("inf"), backoff=0.5, backoff_max=10.0)
MESSAGE_MAX = 300
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute when no header says how long
USER_AGENT = "automator"


def forge_http() -> HttpClient:
    """The edge forges use unless given another: answers counted as ``client="forge"``."""
    return HttpClient(count=count_as("forge"))


class ApiClient:
    """Requests against one forge API root on behalf of one repository."""

    def __init__(
        self,
        *,
        forge: str,
        repository: str,
        base_url: str,
        token: Secret,
        auth: Callable[[str], Mapping[str, str]],
        http: Http | None = None,
        max_wait_s: float = 60,
    ) -> None:
        self.forge = forge
        self.repository = repository
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._auth = auth
        self._http = http if http is not None else forge_http()
        self._max_wait_s = max_wait_s

    def __repr__(self) -> str:
        return f"ApiClient({self.forge!r}, {self.repository!r}, {self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        ok: Collection[int] = (200,),
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Reply:
        """Send one API call; the answer if its status is in ``ok``, else ForgeError.

        ``doing`` names the call in errors: "creating pull request automator/all -> main".
        """
        what = f"{self._where()}: {doing}"
        budget = Deadline(self._max_wait_s, what, self._http.now)  # for waiting out limits
        headers = {"User-Agent": USER_AGENT, **self._auth(self._token.reveal())}
        request = Request(
            method,
            self.base_url + path,
            headers=headers,
            json=json_body,
            params=params,
            timeout=TIMEOUT,
            limit=MAX_BODY,
        )
        try:
            reply = self._http.retry(
                lambda: self._attempt(request, doing, budget), deadline=budget, policy=RETRY
            )
        except Again as again:
            raise (again.error or self._unreachable(doing, again.kind)) from again
        if reply.status not in ok:
            raise self.error(reply, doing)
        return reply

    def json(self, reply: Reply, doing: str) -> Any:
        """The JSON of ``reply``, or a ForgeError that says the API root looks wrong."""
        try:
            return json.loads(reply.body)
        except ValueError as exc:
            raise self.malformed(doing, "JSON") from exc

    def malformed(self, doing: str, expected: str) -> ForgeError:
        """The error for an answer that is not what the API describes."""
        return ForgeError(
            f"{self._where()}: {doing}: the answer is not {expected}; {self._check_root()}"
        )

    def error(self, reply: Reply, doing: str, advice: str | None = None) -> ForgeError:
        """A one-line ForgeError for an answer the caller did not expect."""
        status = reply.status
        transient = status == 429 or status >= 500
        return ForgeError(
            f"{self._where()}: {status} {doing}: {self.message(reply)}; "
            f"{advice or self._advice(status)}",
            transient=transient,
        )

    def message(self, reply: Reply) -> str:
        """The forge's own explanation in ``reply``, on one line, without the token."""
        try:
            data = json.loads(reply.body)
        except ValueError:
            data = reply.text()
        parts: list[str] = []
        _collect(data, parts)
        text = " ".join(": ".join(p for p in parts if p.strip()).split()) or reply.reason or "-"
        secret = self._token.reveal()
        if secret:
            text = text.replace(secret, "***")
        return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."

    def _attempt(self, request: Request, doing: str, budget: Deadline) -> Reply:
        """One exchange; Again when waiting (for a rate limit, or a while) can fix it."""
        exchange = Deadline(EXCHANGE_S, f"{self._where()}: {doing}", self._http.now)
        try:
            reply = self._http.send(request, exchange)
        except Again as again:
            raise Again(again.reason, error=self._unreachable(doing, again.kind)) from again
        except TlsFailed as exc:  # no retry mends a certificate
            raise self._unreachable(doing, "SSLError") from exc
        except HttpError as exc:
            advice = "the next cycle retries" if exc.transient else self._check_root()
            raise ForgeError(f"{exc}; {advice}", transient=exc.transient) from exc
        delay = self._rate_limit_delay(reply)
        if delay is not None:
            error = ForgeError(
                f"{self._where()}: {reply.status} {doing}: rate limited for {delay:.0f}s"
                f" ({self.message(reply)}); waiting longer than {self._max_wait_s:.0f}s is not"
                " allowed, so the next cycle retries",
                transient=True,
            )
            if delay > budget.remaining():
                raise error
            logger.info("%s: rate limited %s; waiting %.1fs", self._where(), doing, delay)
            raise Again(f"HTTP {reply.status}", delay, error=error)
        if reply.status >= 500 or reply.status == 429:
            raise Again(f"HTTP {reply.status}", error=self.error(reply, doing))
        return reply

    def _rate_limit_delay(self, reply: Reply) -> float | None:
        """Seconds the forge asks us to wait, or None when this is no rate limit."""
        if reply.status not in (403, 429):
            return None
        header = reply.headers.get("Retry-After")
        if header:
            delay = retry_after(header)
            return SECONDARY_LIMIT_WAIT if delay is None else delay
        remaining = reply.headers.get(
            "X-RateLimit-Remaining", reply.headers.get("RateLimit-Remaining")
        )
        reset = reply.headers.get("X-RateLimit-Reset", reply.headers.get("RateLimit-Reset"))
        if remaining == "0" and reset and reset.isdigit():
            return max(1.0, int(reset) - time.time())  # Unix time: the wall clock, not ours
        if reply.status == 403 and "rate limit" in self.message(reply).lower():
            return SECONDARY_LIMIT_WAIT
        return None  # a 429 without a hint is retried with backoff; a 403 is a refusal

    def _unreachable(self, doing: str, kind: str) -> ForgeError:
        return ForgeError(
            f"{self._where()}: cannot reach {host_of(self.base_url)} {doing} ({kind});"
            " check the forge API URL and the network",
            transient=True,
        )

    def _check_root(self) -> str:
        return f"check that {self.base_url} is the {self.forge} API root"

    def _where(self) -> str:
        return f"{self.forge} {self.repository}"

    def _advice(self, status: int) -> str:
        if status == 401:
            return f"check the {self.forge} token: it is missing, wrong or expired"
        if status == 403:
            return f"give the token write access to pull requests of {self.repository}"
        if status == 404:
            return f"check the repository name {self.repository} and that the token can see it"
        if status == 429 or status >= 500:
            return "the forge is failing or busy; the next cycle retries"
        return "check the branches and the request; the forge's message says what it refused"


def _collect(data: Any, parts: list[str]) -> None:
    """Gather the human-readable messages of a forge's error body, in order."""
    if isinstance(data, str):
        parts.append(data)
    elif isinstance(data, list):
        for item in data:
            _collect(item, parts)
    elif isinstance(data, dict):
        for key in ("message", "error", "error_description", "errors"):
            if key in data:
                _collect(data[key], parts)
        if "field" in data and "message" not in data:  # GitHub: {resource, field, code}
            parts.append(" ".join(str(data.get(k, "")) for k in ("resource", "field", "code")))
        elif not {"message", "error", "errors"} & data.keys():
            parts.append(json.dumps(data, sort_keys=True)[:MESSAGE_MAX])
