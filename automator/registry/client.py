"""A registry client over the Docker Registry HTTP API v2 / OCI distribution.

Walking-skeleton scope: anonymous access (with the anonymous Bearer token flow),
plain HTTP for registries marked ``insecure``, tag listing that follows ``Link``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlparse

import requests

from automator.errors import RegistryError
from automator.reference import TAG_RE, ImageRef

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
MAX_PAGES = 100
TIMEOUT = (5.0, 30.0)


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """How to reach one registry host."""

    host: str  # as in image references: "ghcr.io", "127.0.0.1:5000", "docker.io"
    insecure: bool = False  # plain HTTP


class RegistryClient:
    """Lists tags of image repositories; one ``requests.Session`` per client."""

    def __init__(
        self,
        settings: Sequence[RegistrySettings] = (),
        *,
        session: requests.Session | None = None,
    ) -> None:
        self._settings = {s.host: s for s in settings}
        self._session = session or requests.Session()
        self._tokens: dict[str, str] = {}

    def _base_url(self, image: ImageRef) -> str:
        host = image.registry
        settings = self._settings.get(host)
        if host == "docker.io":
            host = "registry-1.docker.io"
        scheme = "http" if settings is not None and settings.insecure else "https"
        return f"{scheme}://{host}"

    def list_tags(self, image: ImageRef) -> list[str]:
        """Every valid tag of ``image``'s repository, sorted; invalid tags are dropped."""
        base = self._base_url(image)
        url: str | None = f"{base}/v2/{image.repository}/tags/list?n=1000"
        tags: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                break
            resp = self._get(image, url)
            try:
                page = resp.json().get("tags") or []
            except ValueError:
                raise RegistryError(
                    f"{image.canonical_name}: tag list is not JSON; is {base} a registry?",
                    transient=True,
                ) from None
            tags.update(t for t in page if isinstance(t, str) and TAG_RE.fullmatch(t))
            url = _next_link(resp, base)
        return sorted(tags)

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        """Tags per canonical repository name; one listing per repository."""
        result: dict[str, list[str] | RegistryError] = {}
        for image in images:
            if image.canonical_name in result:
                continue
            try:
                result[image.canonical_name] = self.list_tags(image)
            except RegistryError as exc:
                result[image.canonical_name] = exc
        return result

    def _get(self, image: ImageRef, url: str) -> requests.Response:
        headers = {}
        if token := self._tokens.get(image.canonical_name):
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = self._session.get(url, headers=headers, timeout=TIMEOUT)
            if resp.status_code == 401 and "Authorization" not in headers:
                token = self._anonymous_token(image, resp.headers.get("WWW-Authenticate", ""))
                self._tokens[image.canonical_name] = token
                resp = self._session.get(
                    url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
                )
        except requests.RequestException as exc:
            raise RegistryError(
                f"{image.canonical_name}: cannot reach {urlparse(url).netloc}"
                f" ({type(exc).__name__}); check the registry address and network",
                transient=True,
            ) from None
        if resp.status_code != 200:
            raise RegistryError(
                f"{image.canonical_name}: HTTP {resp.status_code} listing tags;"
                " check the image name and the credentials for its registry",
                transient=resp.status_code in (429, 500, 502, 503, 504),
            )
        return resp

    def _anonymous_token(self, image: ImageRef, challenge: str) -> str:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not challenge.lower().startswith("bearer") or realm is None:
            raise RegistryError(
                f"{image.canonical_name}: registry wants credentials; configure them for"
                f" {image.registry}"
            )
        params["scope"] = f"repository:{image.repository}:pull"
        resp = self._session.get(realm, params=params, timeout=TIMEOUT)
        if resp.status_code != 200:
            raise RegistryError(
                f"{image.canonical_name}: token request refused with HTTP {resp.status_code};"
                f" configure credentials for {image.registry}"
            )
        body = resp.json()
        return str(body.get("token") or body.get("access_token"))


def _next_link(resp: requests.Response, base: str) -> str | None:
    link = resp.links.get("next", {}).get("url")
    if not link:
        return None
    target = urljoin(resp.url, link)
    if urlparse(target)[:2] != urlparse(base)[:2]:
        return None  # never follow a link to another host or scheme
    return target
