"""HTTP to registries, on the HTTP edge: per-host budgets, redirects and registry errors.

``automator.http`` does the exchange (timeouts, the deadline, capped and decoded
bodies) and the retry loop. On top of it: each request waits for its host's
budget; 429 and 503 honour ``Retry-After`` and halve the host's rate; 5xx, resets and
timeouts are tried again. Redirects are followed by hand so that an
``Authorization`` header only ever goes to the origin it was made for, HTTPS is
never downgraded to plain HTTP, and a redirect or a token realm on a host
automator.yaml did not name may only reach a public address (unless the registry
has ``private_redirects``). A registry the config
repo named but automator.yaml did not list (``public_only``) may only be reached at a
public address at all.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from urllib.parse import urljoin, urlsplit

from automator.errors import HttpError, RegistryError
from automator.http import (
    Again,
    Deadline,
    DeadlinePassed,
    Http,
    PrivateAddress,
    Reply,
    Request,
    Retry,
    TlsFailed,
    TooLarge,
    retry_after,
)
from automator.registry.budget import HostBudget
from automator.registry.settings import RegistrySettings

MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ADVICE = {  # what to do about an edge failure, said after it
    DeadlinePassed: "the registry is slow or down, try later",
    TooLarge: "raise max_body if this registry is trusted",
    TlsFailed: "check ca_bundle and client_cert, or set insecure: true for a plain-HTTP registry",
    PrivateAddress: "only a registry listed under registries: may be private, and its redirects"
    " only with private_redirects: true",
}


def origin(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of ``url``, lower-cased."""
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class Transport:
    """One ``Http`` edge and a budget per host."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self._budgets: dict[str, HostBudget] = {}
        self._lock = threading.Lock()
        self.requests_sent = 0

    def deadline(self, seconds: float, what: str) -> Deadline:
        """A deadline for one call, on the edge's clock."""
        return Deadline(seconds, what, self.http.now)

    def budget(self, host: str, settings: RegistrySettings) -> HostBudget:
        with self._lock:
            budget = self._budgets.get(host)
            if budget is None:
                budget = HostBudget(
                    settings.requests_per_second,
                    settings.max_concurrency,
                    settings.key,
                    burst=settings.burst,
                    clock=self.http.now,
                    sleep=self.http.sleep,
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
        vouched: bool = False,
    ) -> Reply:
        """Send one request with retries; any status comes back, only transport fails raise.

        ``vouched``: ``url``'s host is one the registry's settings vouch for (a trusted
        token realm), so it may be at a private address as the registry itself may.
        """
        request = Request(
            method,
            url,
            headers=dict(headers or {}),
            data=data,
            timeout=(settings.connect_timeout, settings.read_timeout),
            limit=settings.max_body if limit is None else limit,
            verify=settings.verify,
            cert=settings.cert,
        )
        policy = Retry(attempts=settings.max_attempts, max_wait=settings.max_retry_wait)
        try:
            return self.http.retry(
                lambda: self._once(request, settings, deadline, authorization, vouched),
                deadline=deadline,
                policy=policy,
            )
        except Again as again:
            if again.attempts < policy.attempts:  # the deadline stopped it first
                raise registry_error(deadline.passed()) from again
            raise RegistryError(
                f"{deadline.what}: {again.reason} after {again.attempts} attempts;"
                " check the registry address and the network, or try later",
                transient=True,
            ) from again
        except HttpError as exc:
            raise registry_error(exc) from exc

    def _once(
        self,
        request: Request,
        settings: RegistrySettings,
        deadline: Deadline,
        authorization: str | None,
        vouched: bool,
    ) -> Reply:
        """One attempt: the request and the redirects it leads to, each within its budget."""
        home = origin(request.url)
        named = {origin(settings.api_base)[1], *([home[1]] if vouched else [])}
        url, method, data = request.url, request.method, request.data
        for _ in range(MAX_REDIRECTS + 1):
            headers = dict(request.headers)
            if authorization is not None and origin(url) == home:
                headers["Authorization"] = authorization  # never to another origin
            guard = settings.public_only or (
                elsewhere(url, settings, named) and not settings.private_redirects
            )
            hop = replace(
                request, url=url, method=method, data=data, headers=headers, public_only=guard
            )
            budget = self.budget(origin(url)[1], settings)
            with budget.slot(deadline):
                reply = self.http.send(hop, deadline)
            with self._lock:
                self.requests_sent += 1
            if reply.status in (429, 503):
                pause = retry_after(reply.headers.get("Retry-After"))
                budget.slow_down(pause or 1.0)
                if pause is not None and pause > min(settings.max_retry_wait, deadline.remaining()):
                    raise RegistryError(
                        f"{deadline.what}: HTTP {reply.status}, Retry-After {pause:.0f}s is past"
                        " the deadline; the registry's rate limit is spent, try later",
                        transient=True,
                    )
                raise Again(f"HTTP {reply.status}", pause)
            if reply.status in RETRY_STATUSES:
                raise Again(f"HTTP {reply.status}")
            budget.recover()
            location = reply.headers.get("Location")
            if reply.status not in (301, 302, 303, 307, 308) or not location:
                return reply
            scheme, url = origin(url)[0], urljoin(url, location)
            if origin(url)[0] not in ("http", "https"):
                break
            if scheme == "https" and origin(url)[0] == "http":
                raise RegistryError(
                    f"{deadline.what}: refused a redirect from HTTPS to plain HTTP"
                    f" ({origin(url)[1]}); the registry or a proxy is misconfigured or hostile",
                )
            if method == "POST" and reply.status == 303:
                method, data = "GET", None
        raise RegistryError(
            f"{deadline.what}: too many or bad redirects; check the registry address",
        )


def elsewhere(url: str, settings: RegistrySettings, named: set[str]) -> bool:
    """Whether ``url`` is on a host automator.yaml did not name for this registry.

    ``named`` holds the registry's own ``host:port`` (and a vouched token realm's);
    ``token_realm_hosts`` are named too. A redirect or a token realm anywhere else was
    chosen by the registry's answer.
    """
    if origin(url)[1] in named:
        return False
    return (urlsplit(url).hostname or "").lower() not in settings.token_realm_hosts


def registry_error(exc: HttpError) -> RegistryError:
    """``exc`` in a registry's words: the edge's one line and what to do about it."""
    advice = next((text for kind, text in ADVICE.items() if isinstance(exc, kind)), None)
    message = f"{exc}; {advice}" if advice else str(exc)
    return RegistryError(message, transient=exc.transient)
