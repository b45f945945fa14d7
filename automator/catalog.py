"""The plan's view of registries, backed by the registry client, memoised per cycle.

Each image repository is listed once per cycle however many Sites use it. Build
times (config blobs) are read only for policies that need them, at most
``max_build_times`` per repository a cycle; the client's cache keeps them by digest
forever, so a warm cycle reads none.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence

import policies
from automator.errors import AutomatorError, RegistryError
from automator.reference import ImageRef
from automator.registry import RegistryClient

logger = logging.getLogger(__name__)

MAX_BUILD_TIMES = 500


class RegistryCatalog:
    """Implements ``automator.plan.Catalog`` over a RegistryClient."""

    def __init__(self, client: RegistryClient, *, max_build_times: int = MAX_BUILD_TIMES) -> None:
        self.client = client
        self.max_build_times = max_build_times
        self._tags: dict[str, list[str] | RegistryError] = {}
        self._lock = threading.Lock()

    def prefetch(self, images: Iterable[ImageRef]) -> None:
        """List every repository not listed yet this cycle, concurrently."""
        with self._lock:
            missing = {i.canonical_name: i for i in images if i.canonical_name not in self._tags}
        if missing:
            listed = self.client.list_tags_many(missing.values())
            with self._lock:
                self._tags.update(listed)

    def forget(self, names: Iterable[str] | None = None) -> None:
        """Drop listings (all when ``names`` is None), e.g. at the start of a cycle."""
        with self._lock:
            if names is None:
                self._tags.clear()
            else:
                for name in names:
                    self._tags.pop(name, None)

    def tags(self, image: ImageRef) -> list[str] | RegistryError:
        self.prefetch([image])
        with self._lock:
            return self._tags[image.canonical_name]

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None
    ) -> Sequence[policies.Candidate] | AutomatorError:
        tags = self.tags(image)
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
