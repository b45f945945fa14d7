"""One HTTP client for every forge: auth, timeouts, rate limits, retries, errors.

Rate limits are waited out when the forge says how long (``Retry-After``, or
``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset``; GitHub's secondary limits
are 403/429 with ``retry-after``) and the wait fits in ``max_wait_s``; otherwise the
call fails with a transient ForgeError. Connection errors and 5xx are retried with
jittered exponential backoff inside the same budget. Every other answer goes back
to the caller, which turns unexpected ones into one-line errors with ``error``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_random_exponential

from automator.errors import ForgeError
from automator.secrets import Secret

logger = logging.getLogger(__name__)

TIMEOUT = (5.0, 30.0)
MAX_ATTEMPTS = 6
MESSAGE_MAX = 300
SECONDARY_LIMIT_WAIT = 60.0  # GitHub: wait at least a minute when no header says how long
USER_AGENT = "automator"

_backoff = wait_random_exponential(multiplier=0.5, max=10)


class _Again(Exception):
    """One attempt failed in a way that waiting can fix."""

    def __init__(self, error: ForgeError, delay: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.delay = delay


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
        session: requests.Session | None = None,
        max_wait_s: float = 60,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.forge = forge
        self.repository = repository
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._auth = auth
        self._session = session or requests.Session()
        self._max_wait_s = max_wait_s
        self._sleep = sleep
        self._clock = clock

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
    ) -> requests.Response:
        """Send one API call; the answer if its status is in ``ok``, else ForgeError.

        ``doing`` names the call in errors: "creating pull request automator/all -> main".
        """
        deadline = self._clock() + self._max_wait_s
        retrying = Retrying(
            retry=retry_if_exception_type(_Again),
            stop=lambda state: state.attempt_number >= MAX_ATTEMPTS or self._clock() >= deadline,
            wait=lambda state: self._wait(state, deadline),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    resp = self._send(method, path, doing, json_body, params, deadline)
        except _Again as again:
            raise again.error from None
        if resp.status_code not in ok:
            raise self.error(resp, doing)
        return resp

    def json(self, resp: requests.Response, doing: str) -> Any:
        """The JSON of ``resp``, or a ForgeError that says the API root looks wrong."""
        try:
            return resp.json()
        except ValueError:
            raise self.malformed(doing, "JSON") from None

    def malformed(self, doing: str, expected: str) -> ForgeError:
        """The error for an answer that is not what the API describes."""
        return ForgeError(
            f"{self._where()}: {doing}: the answer is not {expected};"
            f" check that {self.base_url} is the {self.forge} API root"
        )

    def error(self, resp: requests.Response, doing: str, advice: str | None = None) -> ForgeError:
        """A one-line ForgeError for an answer the caller did not expect."""
        status = resp.status_code
        transient = status == 429 or status >= 500
        return ForgeError(
            f"{self._where()}: {status} {doing}: {self.message(resp)}; "
            f"{advice or self._advice(status)}",
            transient=transient,
        )

    def message(self, resp: requests.Response) -> str:
        """The forge's own explanation in ``resp``, on one line, without the token."""
        try:
            data = resp.json()
        except ValueError:
            data = resp.text
        parts: list[str] = []
        _collect(data, parts)
        text = " ".join(": ".join(p for p in parts if p.strip()).split()) or resp.reason or "-"
        secret = self._token.reveal()
        if secret:
            text = text.replace(secret, "***")
        return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."

    def _send(
        self,
        method: str,
        path: str,
        doing: str,
        json_body: Mapping[str, Any] | None,
        params: Mapping[str, str | int] | None,
        deadline: float,
    ) -> requests.Response:
        headers = {"User-Agent": USER_AGENT, **self._auth(self._token.reveal())}
        try:
            resp = self._session.request(
                method,
                self.base_url + path,
                headers=headers,
                json=json_body,
                params=params,
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            host = urlsplit(self.base_url).netloc
            error = ForgeError(
                f"{self._where()}: cannot reach {host} {doing} ({type(exc).__name__});"
                " check the forge API URL and the network",
                transient=True,
            )
            raise _Again(error, None) from None
        delay = self._rate_limit_delay(resp)
        if delay is not None:
            left = deadline - self._clock()
            error = ForgeError(
                f"{self._where()}: {resp.status_code} {doing}: rate limited for {delay:.0f}s"
                f" ({self.message(resp)}); waiting longer than {self._max_wait_s:.0f}s is not"
                " allowed, so the next cycle retries",
                transient=True,
            )
            if delay > left:
                raise error
            logger.info("%s: rate limited %s; waiting %.1fs", self._where(), doing, delay)
            raise _Again(error, delay)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Again(self.error(resp, doing), None)
        return resp

    def _rate_limit_delay(self, resp: requests.Response) -> float | None:
        """Seconds the forge asks us to wait, or None when this is no rate limit."""
        if resp.status_code not in (403, 429):
            return None
        retry_after = resp.headers.get("Retry-After")
        if retry_after:
            return _seconds(retry_after, self._clock())
        remaining = resp.headers.get(
            "X-RateLimit-Remaining", resp.headers.get("RateLimit-Remaining")
        )
        reset = resp.headers.get("X-RateLimit-Reset", resp.headers.get("RateLimit-Reset"))
        if remaining == "0" and reset and reset.isdigit():
            return max(1.0, int(reset) - self._clock())
        if resp.status_code == 403 and "rate limit" in self.message(resp).lower():
            return SECONDARY_LIMIT_WAIT
        return None  # a 429 without a hint is retried with backoff; a 403 is a refusal

    def _wait(self, state: RetryCallState, deadline: float) -> float:
        outcome = state.outcome
        failure = outcome.exception() if outcome is not None else None
        delay = failure.delay if isinstance(failure, _Again) else None
        if delay is None:
            delay = _backoff(state)
        return max(0.0, min(delay, deadline - self._clock()))

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


def _seconds(retry_after: str, now: float) -> float:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*", retry_after):
        return float(retry_after)
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return SECONDARY_LIMIT_WAIT
    return max(0.0, when.timestamp() - now)
