"""The plan's view of registries, backed by the registry client, memoised per cycle.

Each image repository is listed once per cycle however many Sites use it. Build
times (config blobs) are read only for policies that need them, at most
``max_build_times`` per repository a cycle; the client's cache keeps them by digest
forever, so a warm cycle reads none.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import policies
from automator.errors import AutomatorError, IncompleteListing, RegistryError
from automator.reference import ImageRef
from automator.registry import ImageInfo

logger = logging.getLogger(__name__)

MAX_BUILD_TIMES = 500
ERROR_TTL = 5.0  # seconds a failed listing is reused before the registry is asked again


class Registry(Protocol):
    """What the catalog asks of a registry client (``automator.registry.RegistryClient``)."""

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        """Each repository's tags by canonical name, or the error that stopped its listing."""
        ...

    def list_tags_prefixed(self, image: ImageRef, prefix: str) -> list[str] | RegistryError:
        """Only the tags that start with ``prefix`` (asked after an incomplete listing)."""
        ...

    def digest(self, image: ImageRef, tag: str | None = None) -> str: ...

    def image_info(
        self, image: ImageRef, tag: str | None = None, platform: str | None = None
    ) -> ImageInfo: ...


class RegistryCatalog:
    """Implements ``automator.plan.Catalog`` over a registry client; thread-safe.

    Without ``max_age`` a listing is kept for the catalog's life (one cycle). With it,
    listings older than ``max_age`` seconds are listed again (failed listings after a
    few seconds). ``forget`` drops listings a webhook says
    are stale, including one still under way when it is called.
    """

    def __init__(
        self,
        client: Registry,
        *,
        max_build_times: int = MAX_BUILD_TIMES,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.max_build_times = max_build_times
        self.max_age = max_age
        self._clock = clock
        self._tags: dict[str, tuple[list[str] | RegistryError, float]] = {}
        self._forgotten: dict[str, float] = {}
        self._lock = threading.Lock()

    def _fresh(self, name: str, now: float) -> bool:
        entry = self._tags.get(name)
        if entry is None:
            return False
        listed, when = entry
        if self.max_age is None:
            return True
        ttl = min(self.max_age, ERROR_TTL) if isinstance(listed, RegistryError) else self.max_age
        return now - when < ttl

    def prefetch(self, images: Iterable[ImageRef]) -> None:
        """List every repository without a fresh listing, concurrently."""
        started = self._clock()
        with self._lock:
            missing = {
                i.canonical_name: i for i in images if not self._fresh(i.canonical_name, started)
            }
        if not missing:
            return
        listed = self.client.list_tags_many(missing.values())
        with self._lock:
            for name, tags in listed.items():
                if self._forgotten.get(name, -1.0) < started:
                    self._tags[name] = (tags, started)
                elif name not in self._tags:  # forgotten meanwhile: use it once, keep nothing
                    self._tags[name] = (tags, -1.0 if self.max_age else started)

    def forget(self, names: Iterable[str] | None = None) -> None:
        """Drop listings (all when ``names`` is None) so the next use lists again."""
        now = self._clock()
        with self._lock:
            keys = list(self._tags)
            chosen = {k.partition("\n")[0] for k in keys} if names is None else set(names)
            for key in keys:
                if key.partition("\n")[0] in chosen:  # listings, and by prefix ("name\nprefix")
                    del self._tags[key]
            for name in chosen:
                self._forgotten[name] = now

    def tags(self, image: ImageRef) -> list[str] | RegistryError:
        name = image.canonical_name
        with self._lock:
            entry = self._tags.get(name)
        if entry is None:
            self.prefetch([image])
            with self._lock:
                entry = self._tags[name]
        return entry[0]

    def prefixed(self, image: ImageRef, prefix: str) -> list[str] | RegistryError:
        """The tags that start with ``prefix``, from the whole listing when it holds them
        all, else listed on their own (kept like a listing, as ``name\nprefix``)."""
        listed = self.tags(image)
        if not isinstance(listed, IncompleteListing):
            return listed
        if listed.covers(prefix):
            return [tag for tag in listed.tags if tag.startswith(prefix)]
        key, now = f"{image.canonical_name}\n{prefix}", self._clock()
        with self._lock:
            entry = self._tags.get(key) if self._fresh(key, now) else None
        if entry is None:
            entry = (self.client.list_tags_prefixed(image, prefix), now)
            with self._lock:
                self._tags[key] = entry
        return entry[0]

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None, prefix: str = ""
    ) -> Sequence[policies.Candidate] | AutomatorError:
        tags = self.prefixed(image, prefix) if prefix else self.tags(image)
        if isinstance(tags, RegistryError):
            return tags
        if not created:
            return [policies.Candidate(tag) for tag in tags]
        result: list[policies.Candidate] = []
        for count, tag in enumerate(tags):
            if count >= self.max_build_times:
                logger.warning(
                    "%s: read build times of %d tags, the limit; the rest count as unknown",
                    image.canonical_name,
                    self.max_build_times,
                )
                result.extend(policies.Candidate(t) for t in tags[count:])
                break
            try:
                info = self.client.image_info(image, tag, platform)
            except RegistryError as exc:
                logger.debug("%s:%s: no build time: %s", image.canonical_name, tag, exc)
                result.append(policies.Candidate(tag))
                continue
            result.append(policies.Candidate(tag, info.created, info.digest))
        return result

    def digest(self, image: ImageRef, tag: str) -> str:
        return self.client.digest(image, tag)

    def labels(self, images: Iterable[ImageRef]) -> dict[str, dict[str, str]]:
        """OCI labels of each image's config, by reference; best effort, never raises.

        One config blob per new image, kept by digest in the registry cache.
        """
        found: dict[str, dict[str, str]] = {}
        asked: set[str] = set()
        for image in images:
            if str(image) in asked or image.tag is None:
                continue
            asked.add(str(image))
            try:
                found[str(image)] = dict(self.client.image_info(image, image.tag).labels)
            except RegistryError as exc:
                logger.debug("%s: no labels: %s", image, exc)
        return found
