"""The plan's view of registries, backed by the registry client, memoised per cycle.

Each image repository is listed once per cycle however many Sites use it. Build
times (config blobs) are read only for policies that need them, at most
``max_build_times`` per repository a cycle, spent where they can matter: on the
tags the policy's filter admits, the current tag first, then the rest most likely
newest first (``read_order``: natural order, descending, so ``build-10`` comes
before ``build-9`` and timestamps newest first). The client's cache keeps them by
digest forever, so a warm cycle reads none.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import policies
from automator.errors import AutomatorError, IncompleteListing, RegistryError
from automator.reference import ImageRef
from automator.registry import ImageInfo, PullsDeferred

logger = logging.getLogger(__name__)

MAX_BUILD_TIMES = 500
ERROR_TTL = 5.0  # seconds a failed listing is reused before the registry is asked again
_DIGITS = re.compile(r"(\d+)")


def natural_key(tag: str) -> tuple[tuple[int, int, str], ...]:
    """``tag`` ordered with its digit runs as numbers: ``v1.9`` < ``v1.10``."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in _DIGITS.split(tag)
        if part
    )


def read_order(
    tags: Sequence[str], wanted: Callable[[str], bool] | None, current: str | None
) -> list[str]:
    """The tags whose build times are worth reading, in the order to read them.

    Only tags ``wanted`` admits (the policy's filter); the current tag first (it guards
    against moving backwards), then the others most likely newest first.
    """
    admitted = sorted(
        (t for t in tags if wanted is None or wanted(t)), key=natural_key, reverse=True
    )
    if current is not None and current in admitted:
        admitted.remove(current)
        admitted.insert(0, current)
    return admitted


class Registry(Protocol):
    """What the catalog asks of a registry client (``automator.registry.RegistryClient``)."""

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        """Each repository's tags by canonical name, or the error that stopped its listing."""
        ...

    def list_tags_prefixed(self, image: ImageRef, prefix: str) -> list[str] | RegistryError:
        """Only the tags that start with ``prefix`` (asked after an incomplete listing)."""
        ...

    def digest(self, image: ImageRef, tag: str | None = None) -> str: ...

    def forget_digests(self, tags: Iterable[tuple[str, str]]) -> None:
        """Drop the cached digests of these (canonical repository, tag) pairs."""
        ...

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
        self._unread: dict[str, tuple[int, str]] = {}  # name -> (build times unread, why)
        self._lock = threading.Lock()
        self._listing: dict[str, threading.Event] = {}  # listed now by some thread: wait for it

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
            stale = {
                i.canonical_name: i for i in images if not self._fresh(i.canonical_name, started)
            }
            # a repository another worker is listing now is waited for, not listed twice
            others = [self._listing[n] for n in stale if n in self._listing]
            missing = {n: i for n, i in stale.items() if n not in self._listing}
            mine = threading.Event()
            self._listing.update(dict.fromkeys(missing, mine))
        try:
            listed = self.client.list_tags_many(missing.values()) if missing else {}
            with self._lock:
                for name, tags in listed.items():
                    if self._forgotten.get(name, -1.0) < started:
                        self._tags[name] = (tags, started)
                    elif name not in self._tags:  # forgotten meanwhile: use it once, keep nothing
                        self._tags[name] = (tags, -1.0 if self.max_age else started)
        finally:
            with self._lock:
                for name in missing:
                    del self._listing[name]
            mine.set()
        for other in others:
            other.wait()

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

    def drop(self, names: Iterable[str]) -> None:
        """Let go of the listings of ``names`` (a failing source's repositories that no
        other source uses): memory only, unlike ``forget`` they are not marked stale."""
        chosen = set(names)
        with self._lock:
            for key in [k for k in self._tags if k.partition("\n")[0] in chosen]:
                del self._tags[key]
            for name in chosen:
                self._unread.pop(name, None)

    def listed(self) -> frozenset[str]:
        """The repositories whose listings are kept now."""
        with self._lock:
            return frozenset(k.partition("\n")[0] for k in self._tags)

    def forget_digests(self, tags: Iterable[tuple[str, str]]) -> None:
        """A webhook says these (repository, tag) pairs were pushed: their digests changed."""
        self.client.forget_digests(tags)

    def tags(self, image: ImageRef) -> list[str] | RegistryError:
        name = image.canonical_name
        with self._lock:
            entry = self._tags.get(name)
        while entry is None:  # another worker's listing may have been forgotten since
            self.prefetch([image])
            with self._lock:
                entry = self._tags.get(name)
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
        self,
        image: ImageRef,
        *,
        created: bool,
        platform: str | None,
        wanted: Callable[[str], bool] | None = None,
        current: str | None = None,
        prefix: str = "",
    ) -> Sequence[policies.Candidate] | AutomatorError:
        """Every listed tag (with ``prefix``: those that start with it); with ``created``,
        build times of the tags ``wanted`` admits (all when None), ``current`` first, then
        most likely newest first, within ``max_build_times``."""
        tags = self.prefixed(image, prefix) if prefix else self.tags(image)
        if isinstance(tags, RegistryError):
            return tags
        if not created:
            return [policies.Candidate(tag) for tag in tags]
        known = self._build_times(image, read_order(tags, wanted, current), platform)
        return [
            policies.Candidate(t, known[t].created, known[t].digest)
            if t in known
            else policies.Candidate(t)
            for t in tags
        ]

    def _build_times(
        self, image: ImageRef, order: list[str], platform: str | None
    ) -> dict[str, ImageInfo]:
        name = image.canonical_name
        if len(order) > self.max_build_times:
            logger.warning(
                "%s: %d tags pass the policy's filter; read build times of the %d most likely"
                " newest (the limit), the rest count as unknown",
                name,
                len(order),
                self.max_build_times,
            )
        known: dict[str, ImageInfo] = {}
        unread, why = 0, ""
        budget = order[: self.max_build_times]
        for count, tag in enumerate(budget):
            try:
                known[tag] = self.client.image_info(image, tag, platform)
            except PullsDeferred as exc:  # the host's pulls are spent: so are the rest
                logger.warning("%s: build times of %d tags: %s", name, len(budget) - count, exc)
                unread, why = unread + len(budget) - count, str(exc)
                break
            except RegistryError as exc:
                logger.debug("%s:%s: no build time: %s", name, tag, exc)
                unread, why = unread + 1, why or str(exc)
        with self._lock:
            self._unread[name] = (unread, why)
        return known

    def unread(self, image: ImageRef) -> tuple[int, str]:
        """(build times that could not be read at the last ``candidates``, the first reason)."""
        with self._lock:
            return self._unread.get(image.canonical_name, (0, ""))

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
