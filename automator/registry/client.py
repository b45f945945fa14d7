"""The registry client: tags, digests and image configs over the OCI distribution API.

One ``RegistryClient`` serves every registry host; ``RegistrySettings`` says how to
reach each one. Nothing a registry returns reaches the caller unless it passes the
reference grammar: invalid tags are dropped and counted, digests are checked.

Over 300 lines, for a reason: the reads the signature gate needs (a manifest that may
be absent, a blob, OCI referrers) must go through the same authenticated, digest-checked
request path as tags and configs, which is private to this class.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from automator.errors import RegistryError
from automator.http import Deadline, Http, HttpClient, Reply, count_registry
from automator.reference import ImageRef, check_tag, is_tag, normalise_domain
from automator.registry.answers import (
    expect_ok,
    json_object,
    next_page,
    tag_page,
    valid_digest,
)
from automator.registry.auth import Authenticator
from automator.registry.cache import RegistryCache
from automator.registry.manifests import (
    DEFAULT_PLATFORM,
    IMAGE_TYPES,
    INDEX_TYPES,
    MANIFEST_ACCEPT,
    OCI_INDEX,
    ImageInfo,
    Platform,
    read_config,
    select_platform,
    sha256_digest,
)
from automator.registry.settings import RegistrySettings
from automator.registry.transport import Transport

logger = logging.getLogger(__name__)

MAX_WORKERS = 64


@dataclass(frozen=True, slots=True)
class TagListing:
    """One repository's tags and how complete the listing is."""

    repository: str  # canonical name
    tags: tuple[str, ...]  # valid tags, sorted
    dropped: int = 0  # answers that failed the tag grammar
    complete: bool = True  # False when a cap or a refused Link cut the listing short
    pages: int = 0  # tag pages requested (a 304 answered from the cache counts as one)
    cached: bool = False  # the registry said the cached list (by ETag) is current


class RegistryClient:
    """Lists tags, resolves digests and reads image configs; safe to share across threads."""

    def __init__(
        self,
        settings: Sequence[RegistrySettings] = (),
        *,
        session: requests.Session | None = None,
        http: Http | None = None,
        cache: RegistryCache | None = None,
        docker_config: str | None = None,
    ) -> None:
        """``http`` (default: an ``HttpClient`` over ``session``) sends every request."""
        self._settings = {s.key: s for s in settings}
        self._docker_config = docker_config
        if http is None:
            http = HttpClient(session or _pooled_session(), count=count_registry)
        self._transport = Transport(http)
        self._auth = Authenticator(self._transport)
        self._cache = cache

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, token requests included."""
        return self._transport.requests_sent

    @property
    def token_fetches(self) -> int:
        return self._auth.token_fetches

    def settings_for(self, registry: str) -> RegistrySettings:
        """The settings for ``registry`` (defaults when none were given)."""
        found = self._settings.get(normalise_domain(registry)) or RegistrySettings(registry)
        if found.docker_config is None and self._docker_config is not None:
            found = replace(found, docker_config=self._docker_config)
        return found

    # -- tags ------------------------------------------------------------------

    def list_tags(self, image: ImageRef) -> list[str]:
        """Every valid tag of ``image``'s repository, sorted; invalid tags are dropped."""
        return list(self.tag_listing(image).tags)

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        """Tags per canonical repository name: one listing per repository, concurrently."""
        unique: dict[str, ImageRef] = {}
        for image in images:
            unique.setdefault(image.canonical_name, image)
        hosts = {self.settings_for(i.registry).key for i in unique.values()}
        workers = min(
            len(unique), MAX_WORKERS, sum(self.settings_for(h).max_concurrency for h in hosts)
        )

        def one(image: ImageRef) -> list[str] | RegistryError:
            try:
                return self.list_tags(image)
            except RegistryError as exc:
                return exc

        if workers <= 1:
            return {name: one(image) for name, image in unique.items()}
        with ThreadPoolExecutor(workers, thread_name_prefix="registry") as pool:
            return dict(zip(unique, pool.map(one, unique.values()), strict=True))

    def tag_listing(self, image: ImageRef) -> TagListing:
        """List ``image``'s tags, following ``Link`` on the same origin only, within caps."""
        settings = self.settings_for(image.registry)
        name = image.canonical_name
        deadline = self._transport.deadline(settings.deadline, f"{name}: listing tags")
        base = settings.api_base
        first = f"{base}/v2/{image.repository}/tags/list?n={settings.page_size}"
        cached = self._cache.get_tags(name) if self._cache else None
        headers = {"If-None-Match": cached.etag} if cached and cached.etag else {}
        tags: set[str] = set()
        dropped = pages = 0
        complete, linked = True, False
        url: str | None = first
        followed: set[str] = set()
        while url is not None:
            if url in followed:
                logger.warning("%s: a tag-page Link leads back to a page already read", name)
                complete = False
                break
            followed.add(url)
            if pages >= settings.max_pages:
                logger.warning("%s: stopped after %d tag pages (max_pages)", name, pages)
                complete = False
                break
            reply = self._call("GET", image, url, settings, deadline, headers)
            pages += 1
            if reply.status == 304 and cached is not None and pages == 1:
                return TagListing(name, cached.tags, pages=1, cached=True)
            headers = {}
            page = tag_page(reply, deadline.what, base)
            before = len(tags)
            for tag in page:
                if is_tag(tag):
                    tags.add(tag)
                else:
                    dropped += 1
            if len(tags) >= settings.max_tags:
                logger.warning("%s: stopped at %d tags (max_tags)", name, len(tags))
                complete = False
                break
            grew = len(tags) > before
            url, linked, refused = next_page(reply, base, first, page, grew, linked, settings)
            complete = complete and not refused
            if refused:
                logger.warning("%s: refused a tag-page Link to another host or scheme", name)
        if dropped:
            logger.warning("%s: dropped %d tags that fail the tag grammar", name, dropped)
        listing = TagListing(
            name, tuple(sorted(tags)[: settings.max_tags]), dropped, complete, pages
        )
        if self._cache is not None and complete:
            etag = reply.headers.get("ETag") if pages == 1 else None
            self._cache.put_tags(name, listing.tags, etag)
        return listing

    # -- manifests -------------------------------------------------------------

    def digest(self, image: ImageRef, tag: str | None = None) -> str:
        """The digest ``tag`` (default: the image's tag, else ``latest``) points at now."""
        tag = check_tag(tag or image.tag or "latest")
        settings = self.settings_for(image.registry)
        name = image.canonical_name
        if self._cache and (hit := self._cache.get_digest(name, tag, settings.digest_ttl)):
            return hit
        what = f"{name}:{tag}: resolving the digest"
        deadline = self._transport.deadline(settings.deadline, what)
        url = f"{settings.api_base}/v2/{image.repository}/manifests/{tag}"
        accept = {"Accept": MANIFEST_ACCEPT}
        reply = self._call("HEAD", image, url, settings, deadline, accept)
        expect_ok(reply, deadline.what, settings, self._auth.credentials(settings).source)
        digest = valid_digest(reply.headers.get("Docker-Content-Digest"))
        if digest is None:  # old registries omit it: hash the bytes ourselves
            digest, _ = self._manifest(image, tag, settings, deadline)
        if self._cache is not None:
            self._cache.put_digest(name, tag, digest)
        return digest

    def image_info(
        self, image: ImageRef, tag: str | None = None, platform: Platform | str | None = None
    ) -> ImageInfo:
        """Build time and labels of ``tag``'s image (for an index: of ``platform``'s)."""
        wanted = Platform.parse(platform) if isinstance(platform, str) else platform
        digest = self.digest(image, tag)
        key = str(wanted or "")
        if self._cache is not None and (hit := self._cache.get_image(digest, key)) is not None:
            return ImageInfo(digest, hit[0], hit[1], key)
        settings = self.settings_for(image.registry)
        what = f"{image.canonical_name}@{digest}: reading config"
        deadline = self._transport.deadline(settings.deadline, what)
        _, doc = self._manifest(image, digest, settings, deadline)
        kind = doc.get("mediaType")
        chosen = ""
        if kind in INDEX_TYPES or "manifests" in doc:
            entry = select_platform(doc, wanted or DEFAULT_PLATFORM)
            if entry is None:
                raise RegistryError(
                    f"{deadline.what}: no image for platform {wanted or DEFAULT_PLATFORM};"
                    " check the platform= option against the image's platforms",
                )
            child = valid_digest(entry.get("digest"))
            if child is None:
                raise RegistryError(f"{deadline.what}: index entry without a valid digest")
            _, doc = self._manifest(image, child, settings, deadline)
            chosen = str(wanted or DEFAULT_PLATFORM)
        elif kind is not None and kind not in IMAGE_TYPES:
            raise RegistryError(f"{deadline.what}: unsupported manifest type {kind!r:.80}")
        config = doc.get("config")
        config_digest = valid_digest(config.get("digest") if isinstance(config, dict) else None)
        if config_digest is None:
            raise RegistryError(f"{deadline.what}: manifest has no valid config digest")
        url = f"{settings.api_base}/v2/{image.repository}/blobs/{config_digest}"
        body = self._verified("GET", image, url, config_digest, settings, deadline, {})
        created, labels = read_config(json_object(body, deadline.what))
        if self._cache is not None:
            self._cache.put_image(digest, key, created, labels)
        return ImageInfo(digest, created, labels, chosen or key)

    def _manifest(
        self, image: ImageRef, reference: str, settings: RegistrySettings, deadline: Deadline
    ) -> tuple[str, dict[str, Any]]:
        """(digest, document) of a manifest by tag or digest; a digest is verified."""
        url = f"{settings.api_base}/v2/{image.repository}/manifests/{reference}"
        want = reference if ":" in reference else None
        accept = {"Accept": MANIFEST_ACCEPT}
        body = self._verified("GET", image, url, want, settings, deadline, accept)
        return sha256_digest(body), json_object(body, deadline.what)

    def _verified(
        self,
        method: str,
        image: ImageRef,
        url: str,
        digest: str | None,
        settings: RegistrySettings,
        deadline: Deadline,
        headers: Mapping[str, str],
    ) -> bytes:
        reply = self._call(method, image, url, settings, deadline, headers)
        return self._checked(reply, digest, settings, deadline)

    def _checked(
        self, reply: Reply, digest: str | None, settings: RegistrySettings, deadline: Deadline
    ) -> bytes:
        """The body of a 200 answer, checked against ``digest`` (or the one it claims)."""
        expect_ok(reply, deadline.what, settings, self._auth.credentials(settings).source)
        claimed = digest or valid_digest(reply.headers.get("Docker-Content-Digest"))
        if claimed and claimed.startswith("sha256:") and sha256_digest(reply.body) != claimed:
            raise RegistryError(
                f"{deadline.what}: content does not match digest {claimed};"
                " the registry or a proxy altered it",
                transient=True,
            )
        return reply.body

    # -- artefacts next to an image (cosign signatures) ------------------------------

    def find_manifest(self, image: ImageRef, reference: str) -> tuple[str, dict[str, Any]] | None:
        """(digest, document) of a manifest by tag or digest, or None when there is none (404)."""
        what = f"{image.canonical_name}:{reference}: reading the manifest"
        found = self._get_unless_404(image, f"manifests/{reference}", what, MANIFEST_ACCEPT)
        if found is None:
            return None
        reply, settings, deadline = found
        body = self._checked(reply, reference if ":" in reference else None, settings, deadline)
        return sha256_digest(body), json_object(body, deadline.what)

    def blob(self, image: ImageRef, digest: str) -> bytes:
        """A blob of ``image``'s repository, checked against its digest."""
        settings = self.settings_for(image.registry)
        what = f"{image.canonical_name}@{digest}: reading a blob"
        deadline = self._transport.deadline(settings.deadline, what)
        url = f"{settings.api_base}/v2/{image.repository}/blobs/{digest}"
        return self._verified("GET", image, url, digest, settings, deadline, {})

    def referrers(self, image: ImageRef, digest: str) -> list[dict[str, Any]] | None:
        """The OCI 1.1 referrers of ``digest`` (descriptors), or None without the API (404)."""
        what = f"{image.canonical_name}@{digest}: listing referrers"
        found = self._get_unless_404(image, f"referrers/{digest}", what, OCI_INDEX)
        if found is None:
            return None
        reply, settings, deadline = found
        expect_ok(reply, deadline.what, settings, self._auth.credentials(settings).source)
        listed = json_object(reply.body, deadline.what).get("manifests")
        return [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []

    def _get_unless_404(
        self, image: ImageRef, path: str, what: str, accept: str
    ) -> tuple[Reply, RegistrySettings, Deadline] | None:
        """GET ``path`` under ``image``'s repository; None when the registry answers 404."""
        settings = self.settings_for(image.registry)
        deadline = self._transport.deadline(settings.deadline, what)
        url = f"{settings.api_base}/v2/{image.repository}/{path}"
        reply = self._call("GET", image, url, settings, deadline, {"Accept": accept})
        return None if reply.status == 404 else (reply, settings, deadline)

    # -- one authenticated request --------------------------------------------------

    def _call(
        self,
        method: str,
        image: ImageRef,
        url: str,
        settings: RegistrySettings,
        deadline: Deadline,
        headers: Mapping[str, str],
    ) -> Reply:
        """Send with the known credentials; on a 401, answer the challenge and retry once."""
        scope = f"repository:{image.repository}:pull"
        send = self._transport.request
        auth = self._auth.known_header(settings, scope, deadline)
        reply = send(
            method, url, settings=settings, deadline=deadline, headers=headers, authorization=auth
        )
        if reply.status != 401:
            return reply
        if auth is not None:
            self._auth.forget(settings, scope)
        challenge = reply.headers.get("WWW-Authenticate", "")
        auth = self._auth.answer(settings, challenge, scope, deadline)
        if auth is None:
            return reply
        return send(
            method, url, settings=settings, deadline=deadline, headers=headers, authorization=auth
        )

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


def _pooled_session() -> requests.Session:
    session = requests.Session()  # trust_env stays on: proxies from the environment
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=MAX_WORKERS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
