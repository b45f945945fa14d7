"""The registry client: tags, digests and image configs over the OCI distribution API.

One ``RegistryClient`` serves every registry host; ``RegistrySettings`` says how to
reach each one. A host without settings is refused before any request unless an
``unlisted`` pattern lets it in (``automator.registry.hosts``). Nothing a registry
returns reaches the caller unless it passes the reference grammar: invalid tags are
dropped and counted, digests are checked. On a host that bills pulls (the Docker Hub
preset) every manifest GET is counted first.

Over 300 lines, for a reason: tags, manifests, blobs and OCI referrers (the reads the
signature gate needs) share the settings lookup (and its allow-list), the transport and
the one authenticated, digest-checked request path, which is private to this class.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
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
from automator.registry.hosts import RegistryHosts
from automator.registry.listing import PageOrder, TagListing, before
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
from automator.registry.pulls import Pulls
from automator.registry.settings import RegistrySettings
from automator.registry.transport import Transport

logger = logging.getLogger(__name__)

MAX_WORKERS = 64


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
        wall: Callable[[], float] = time.time,
        unlisted: Iterable[str] = (),
    ) -> None:
        """``http`` (default: an ``HttpClient`` over ``session``) sends every request;
        ``wall`` is the clock credentials' expiry times are read on.

        Only the hosts in ``settings`` are contacted, and those ``unlisted`` patterns
        match (``allow_unlisted_registries``; at public addresses only).
        """
        self._settings = {s.key.lower(): s for s in settings}
        self.hosts = RegistryHosts.of(self._settings, unlisted)
        self._docker_config = docker_config
        if http is None:
            http = HttpClient(session or _pooled_session(), count=count_registry)
        self._transport = Transport(http)
        self._auth = Authenticator(self._transport, wall)
        self._cache = cache
        self._pulls = Pulls(self._transport.http.now)

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far, token requests included."""
        return self._transport.requests_sent

    @property
    def token_fetches(self) -> int:
        return self._auth.token_fetches

    def pulls_remaining(self, registry: str) -> int | None:
        """Pulls left in ``registry``'s window, for a host that bills them and has said."""
        return self._pulls.remaining(normalise_domain(registry))

    def settings_for(self, registry: str) -> RegistrySettings:
        """The settings for ``registry``; for an unlisted host, defaults at public addresses.

        Raises RegistryError when ``registry`` may not be contacted at all.
        """
        found = self._settings.get(normalise_domain(registry.lower()))
        if found is None:
            if not self.hosts.admits(registry):
                raise RegistryError(self.hosts.refusal(registry, registry))
            found = RegistrySettings(registry, public_only=True)
        if found.docker_config is None and self._docker_config is not None:
            found = replace(found, docker_config=self._docker_config)
        return found

    def _settings_for(self, image: ImageRef) -> RegistrySettings:
        """``settings_for`` whose refusal names the image."""
        if not self.hosts.admits(image.registry):
            raise RegistryError(self.hosts.refusal(image.canonical_name, image.registry))
        return self.settings_for(image.registry)

    # -- tags ------------------------------------------------------------------

    def list_tags(self, image: ImageRef, prefix: str = "") -> list[str]:
        """Every valid tag of ``image``'s repository (that starts with ``prefix``), sorted.

        Invalid tags are dropped; a listing that is not whole raises IncompleteListing.
        """
        listing = self.tag_listing(image, prefix)
        if not listing.complete:
            raise listing.error(self._settings_for(image).key)
        return list(listing.tags)

    def list_tags_prefixed(self, image: ImageRef, prefix: str) -> list[str] | RegistryError:
        """The tags that start with ``prefix``, listed from there on, or what stopped it."""
        try:
            return self.list_tags(image, prefix)
        except RegistryError as exc:
            return exc

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        """Tags per canonical repository name: one listing per repository, concurrently."""
        unique: dict[str, ImageRef] = {}
        for image in images:
            unique.setdefault(image.canonical_name, image)
        hosts = {i.registry for i in unique.values() if self.hosts.admits(i.registry)}
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

    def tag_listing(self, image: ImageRef, prefix: str = "") -> TagListing:
        """List ``image``'s tags, following ``Link`` on the same origin only, within caps.

        With ``prefix``, only the tags that start with it: the listing starts just
        before it (``last=``) and stops once an ordered listing has gone past it.
        """
        settings = self._settings_for(image)
        name = image.canonical_name
        deadline = self._transport.deadline(settings.deadline, f"{name}: listing tags")
        base = settings.api_base
        first = f"{base}/v2/{image.repository}/tags/list?n={settings.page_size}"
        cached = self._cache.get_tags(name) if self._cache and not prefix else None
        headers = {"If-None-Match": cached.etag} if cached and cached.etag else {}
        tags: set[str] = set()
        dropped = pages = 0
        linked, stopped = False, ""
        url: str | None = f"{first}&last={before(prefix)}" if before(prefix) else first
        followed: set[str] = set()
        order = PageOrder()
        while url is not None:
            if url in followed:
                stopped = "a tag-page Link leads back to a page already read"
                break
            followed.add(url)
            if pages >= settings.max_pages:
                stopped = f"stopped after {pages} tag pages (max_pages)"
                break
            reply = self._call("GET", image, url, settings, deadline, headers)
            pages += 1
            if reply.status == 304 and cached is not None and pages == 1:
                return TagListing(name, cached.tags, pages=1, cached=True)
            headers = {}
            page = tag_page(reply, deadline.what, base)
            valid = [tag for tag in page if is_tag(tag)]
            dropped += len(page) - len(valid)
            tags.update(tag for tag in valid if tag.startswith(prefix))
            grew = order.saw(valid)
            url, linked, refused = next_page(reply, base, first, page, grew, linked, settings)
            if refused:
                stopped = "a tag-page Link to another host or scheme was refused"
            if len(tags) > settings.max_tags or (len(tags) == settings.max_tags and url):
                stopped = f"stopped at {settings.max_tags} tags (max_tags)"
            if stopped or order.past(prefix):
                break
        if stopped:
            logger.warning("%s: %s", name, stopped)
        if dropped:
            logger.warning("%s: dropped %d tags that fail the tag grammar", name, dropped)
        kept = tuple(sorted(tags)[: settings.max_tags])
        cut = len(tags) > len(kept)  # read past the cap: the cut is inside what was read
        through = (kept[-1] if cut else order.highest) if order.ordered else None
        complete = not stopped
        listing = TagListing(name, kept, dropped, complete, pages, False, stopped, through, prefix)
        if self._cache is not None and complete and not prefix:
            etag = reply.headers.get("ETag") if pages == 1 else None
            self._cache.put_tags(name, listing.tags, etag)
        return listing

    # -- manifests -------------------------------------------------------------

    def digest(self, image: ImageRef, tag: str | None = None) -> str:
        """The digest ``tag`` (default: the image's tag, else ``latest``) points at now."""
        tag = check_tag(tag or image.tag or "latest")
        settings = self._settings_for(image)
        name = image.canonical_name
        if self._cache and (hit := self._cache.get_digest(name, tag, settings.digest_ttl)):
            return hit
        asked = self._cache.clock() if self._cache is not None else 0.0
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
            self._cache.put_digest(name, tag, digest, asked=asked)
        return digest

    def forget_digests(self, tags: Iterable[tuple[str, str]]) -> None:
        """Drop the cached digest of each (canonical repository, tag): it was pushed again."""
        if self._cache is not None:
            for name, tag in tags:
                self._cache.forget_digest(name, tag)

    def image_info(
        self, image: ImageRef, tag: str | None = None, platform: Platform | str | None = None
    ) -> ImageInfo:
        """Build time and labels of ``tag``'s image (for an index: of ``platform``'s)."""
        wanted = Platform.parse(platform) if isinstance(platform, str) else platform
        digest = self.digest(image, tag)
        key = str(wanted or "")
        if self._cache is not None and (hit := self._cache.get_image(digest, key)) is not None:
            return ImageInfo(digest, hit[0], hit[1], key)
        settings = self._settings_for(image)
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

    def annotations(self, image: ImageRef) -> dict[str, str]:
        """The string annotations of the manifest ``image``'s tag names (``helm push`` puts
        a chart's source and home URLs there); RegistryError when it cannot be read."""
        tag = check_tag(image.tag or "latest")
        settings = self._settings_for(image)
        what = f"{image.canonical_name}:{tag}: reading annotations"
        deadline = self._transport.deadline(settings.deadline, what)
        _, doc = self._manifest(image, tag, settings, deadline)
        raw = doc.get("annotations")
        found = raw.items() if isinstance(raw, dict) else ()
        return {str(key): value for key, value in found if isinstance(value, str)}

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
        pulls = self._pulls.budget(settings) if "/manifests/" in url else None
        if pulls is not None and method == "GET":
            pulls.take(deadline.what)  # a pull Docker Hub bills; HEADs are free

        def send(authorization: str | None) -> Reply:
            reply = self._transport.request(
                method,
                url,
                settings=settings,
                deadline=deadline,
                headers=headers,
                authorization=authorization,
            )
            if pulls is not None:
                pulls.observe(reply.headers)
            return reply

        auth = self._auth.known_header(settings, scope, deadline)
        reply = send(auth)
        if reply.status != 401:
            return reply
        if auth is not None:
            self._auth.forget(settings, scope)
        challenge = reply.headers.get("WWW-Authenticate", "")
        auth = self._auth.answer(settings, challenge, scope, deadline)
        if auth is None:
            return reply
        return send(auth)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


def _pooled_session() -> requests.Session:
    session = requests.Session()  # trust_env stays on: proxies from the environment
    adapter = HTTPAdapter(pool_connections=16, pool_maxsize=MAX_WORKERS)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
