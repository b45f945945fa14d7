"""Registry authentication: challenges, credentials and a token cache.

Credentials (``automator.registry.credentials``) go to the registry host itself
(Basic) and to the token realm its challenge names, never elsewhere. They are asked
of each registry's provider at every use, so a rotated file or an expired cloud
token is renewed without a restart; a 401 to them makes the provider fetch afresh.
A bearer token is reused until shortly before its ``expires_in``, on the transport's
clock.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from automator.errors import RegistryError
from automator.http import Deadline
from automator.registry.credentials import CredentialProvider, Credentials, provider_for
from automator.registry.credentials.base import Clock, Post
from automator.registry.settings import RegistrySettings
from automator.registry.transport import Transport, origin

logger = logging.getLogger(__name__)

CLIENT_ID = "automator"
TOKEN_LIMIT = 256 * 1024
_PARAM = re.compile(r'([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_SCHEME = re.compile(r"(?:^|,)\s*(Basic|Bearer)\b\s*", re.IGNORECASE)
_TOKEN = re.compile(r"[\x21-\x7e]{1,65536}")  # printable ASCII: safe in a header


@dataclass(frozen=True, slots=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge."""

    scheme: str  # "basic" | "bearer"
    realm: str = ""
    service: str = ""
    scope: str = ""


def parse_challenges(value: str) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value (Quay sends Basic and Bearer)."""
    starts = list(_SCHEME.finditer(value))
    found = []
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(value)
        params = {
            m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)).replace(
                '\\"', '"'
            )
            for m in _PARAM.finditer(value[match.end() : end])
        }
        found.append(
            Challenge(
                match.group(1).lower(),
                params.get("realm", ""),
                params.get("service", ""),
                params.get("scope", ""),
            )
        )
    return sorted(found, key=lambda c: c.scheme != "bearer")  # Bearer wins


@dataclass(frozen=True, slots=True)
class _Token:
    header: str
    expires_at: float


class _Refused(RegistryError):
    """The token server refused these credentials (401/403)."""


class Authenticator:
    """Answers challenges and caches tokens per (realm, service, scope).

    ``wall`` is the wall clock cloud credentials' expiry times are read on; bearer
    tokens expire on the transport's (monotonic) clock.
    """

    def __init__(self, transport: Transport, wall: Clock = time.time) -> None:
        self._transport = transport
        self._wall = wall
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str, str], _Token] = {}
        self._challenges: dict[tuple[str, str], Challenge] = {}  # API origin -> last challenge
        self._providers: dict[str, CredentialProvider] = {}
        self.token_fetches = 0

    def provider(self, settings: RegistrySettings) -> CredentialProvider:
        """The credential provider for ``settings``' host, made once."""
        with self._lock:
            found = self._providers.get(settings.key)
            if found is None:
                found = provider_for(settings, self._poster(settings), self._wall)
                self._providers[settings.key] = found
        return found

    def credentials(self, settings: RegistrySettings) -> Credentials:
        """The host's credentials now (read again or minted when stale)."""
        return self.provider(settings).credentials()

    def _poster(self, settings: RegistrySettings) -> Post:
        def post(url: str, form: Mapping[str, str]) -> tuple[int, bytes]:
            deadline = self._transport.deadline(settings.deadline, f"{settings.key}: {url}")
            reply = self._transport.request(
                "POST",
                url,
                settings=settings,
                deadline=deadline,
                data=dict(form),
                limit=TOKEN_LIMIT,
            )
            return reply.status, reply.body

        return post

    def known_header(
        self, settings: RegistrySettings, scope: str, deadline: Deadline
    ) -> str | None:
        """An Authorization header to send up front, when this host has challenged before."""
        with self._lock:
            challenge = self._challenges.get(origin(settings.api_base))
        if challenge is None:
            return None
        return self._header(challenge, settings, scope, deadline)

    def answer(
        self, settings: RegistrySettings, value: str, scope: str, deadline: Deadline
    ) -> str | None:
        """The header that answers a 401's ``WWW-Authenticate``, or None if none can."""
        challenges = parse_challenges(value)
        if not challenges:
            return None
        with self._lock:
            self._challenges[origin(settings.api_base)] = challenges[0]
        return self._header(challenges[0], settings, scope, deadline)

    def forget(self, settings: RegistrySettings, scope: str) -> None:
        """Drop cached tokens for ``scope`` after the registry refused one; after a
        refused Basic answer, have the provider fetch its credentials afresh."""
        with self._lock:
            challenge = self._challenges.get(origin(settings.api_base))
            if challenge is not None:
                self._tokens.pop(_token_key(challenge, scope), None)
        if challenge is not None and challenge.scheme == "basic":
            self.provider(settings).refused()

    def _header(
        self, challenge: Challenge, settings: RegistrySettings, scope: str, deadline: Deadline
    ) -> str | None:
        creds = self.credentials(settings)
        if challenge.scheme == "basic":
            return creds.basic()
        if not challenge.realm:
            return None
        key = _token_key(challenge, scope)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached.expires_at > self._transport.http.now():
            return cached.header
        try:
            token = self._fetch_token(challenge, key[2], settings, creds, deadline)
        except _Refused:
            provider = self.provider(settings)
            provider.refused()  # a rotated password or an expired helper token: once more
            fresh = provider.credentials()
            if fresh == creds:
                raise
            token = self._fetch_token(challenge, key[2], settings, fresh, deadline)
        with self._lock:
            self._tokens[key] = token
        return token.header

    def _fetch_token(
        self,
        challenge: Challenge,
        scope: str,
        settings: RegistrySettings,
        creds: Credentials,
        deadline: Deadline,
    ) -> _Token:
        realm = challenge.realm
        scheme = origin(realm)[0]
        if scheme not in ("http", "https"):
            raise RegistryError(f"{settings.key}: token realm {realm[:80]!r} is not an http(s) URL")
        # Credentials never travel in clear text unless the registry itself is plain HTTP,
        # and only to a realm the registry can vouch for.
        trusted = realm_trusted(realm, settings)
        may_send = (scheme == "https" or settings.insecure) and trusted
        has_secret = creds.password is not None or creds.identity_token is not None
        if not trusted and has_secret:
            logger.warning(
                "%s: token realm %s is on another domain; asking for an anonymous token."
                " List its host in token_realm_hosts if it is this registry's",
                settings.key,
                origin(realm)[1][:80],
            )
        params = {"service": challenge.service, "scope": scope}
        pairs = [("service", challenge.service)] + [("scope", s) for s in scope.split()]
        query = urlencode([(k, v) for k, v in pairs if v], safe=":/,")
        url = f"{realm}{'&' if '?' in realm else '?'}{query}" if query else realm
        if creds.identity_token is not None and may_send:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token.reveal(),
                "client_id": CLIENT_ID,
                **{k: v for k, v in params.items() if v},
            }
            reply = self._transport.request(
                "POST",
                realm,
                settings=settings,
                deadline=deadline,
                data=form,
                limit=TOKEN_LIMIT,
                vouched=trusted,
            )
        else:
            basic = creds.basic() if may_send else None
            reply = self._transport.request(
                "GET",
                url,
                settings=settings,
                deadline=deadline,
                authorization=basic,
                limit=TOKEN_LIMIT,
                vouched=trusted,  # a realm on another domain may only be at a public address
            )
        with self._lock:
            self.token_fetches += 1
        if reply.status in (401, 403):
            raise _Refused(
                f"{settings.key}: the token server refused a token for {scope} (HTTP"
                f" {reply.status}); check the credentials for {settings.key} ({creds.source})",
            )
        if reply.status != 200:
            raise RegistryError(
                f"{settings.key}: the token server answered HTTP {reply.status};"
                " check the registry's auth service",
                transient=reply.status >= 500,
            )
        try:
            body = json.loads(reply.body)
            value = body.get("token") or body.get("access_token")
            lifetime = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            value, lifetime = None, 0.0
        if not isinstance(value, str) or not _TOKEN.fullmatch(value):
            raise RegistryError(
                f"{settings.key}: the token server answered without a usable token;"
                " check the registry's auth service",
                transient=True,
            )
        margin = min(30.0, lifetime * 0.1)  # renew a little early
        now = self._transport.http.now()
        return _Token(f"Bearer {value}", now + max(1.0, lifetime - margin))


def realm_trusted(realm: str, settings: RegistrySettings) -> bool:
    """May ``settings``' credentials go to ``realm``?

    Yes for the registry's own host, its parent domain and that domain's other hosts
    (``registry-1.docker.io`` -> ``auth.docker.io``, ``registry.gitlab.com`` ->
    ``gitlab.com``), and for hosts listed in ``token_realm_hosts``.
    """
    realm_host = (urlsplit(realm).hostname or "").lower()
    registry_host = (urlsplit(settings.api_base).hostname or "").lower()
    if not realm_host:
        return False
    if realm_host == registry_host or realm_host in settings.token_realm_hosts:
        return True
    parent = registry_host.partition(".")[2]
    if parent.count(".") < 1 or _is_address(registry_host):
        return False
    return realm_host == parent or realm_host.endswith("." + parent)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _token_key(challenge: Challenge, scope: str) -> tuple[str, str, str]:
    scopes = set(scope.split()) | set(challenge.scope.split())
    return challenge.realm, challenge.service, " ".join(sorted(scopes))
