"""A SQLite cache of registry answers; never required for correctness.

Tag lists are kept with their fetch time and ETag, digests by (repository, tag) with
the time they were seen (callers apply a TTL), and what a digest's config says
(created, labels) forever, since a digest names immutable content. A corrupt file is
moved aside and rebuilt; any later SQLite failure turns the cache off with a warning.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MAX_FORGOTTEN = 4096  # webhook evictions remembered, to refuse to keep a racing answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    repository TEXT PRIMARY KEY, tags TEXT NOT NULL, etag TEXT, fetched_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS digests (
    repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, fetched_at REAL NOT NULL,
    PRIMARY KEY (repository, tag));
CREATE TABLE IF NOT EXISTS images (
    digest TEXT NOT NULL, platform TEXT NOT NULL, created TEXT, labels TEXT NOT NULL,
    PRIMARY KEY (digest, platform));
"""


@dataclass(frozen=True, slots=True)
class CachedTags:
    """A tag list as last fetched."""

    tags: tuple[str, ...]
    etag: str | None
    fetched_at: float


class RegistryCache:
    """Registry answers in one SQLite file, shared by the client's threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._forgotten: dict[tuple[str, str], float] = {}  # (repository, tag) -> when
        self._db: sqlite3.Connection | None = self._open()

    def _open(self) -> sqlite3.Connection | None:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            logger.warning(
                "registry cache %s is unreadable (%s); moved it to %s and starting afresh",
                self.path,
                exc,
                aside,
            )
            try:
                self.path.replace(aside)
                return self._connect()
            except (OSError, sqlite3.DatabaseError) as again:
                logger.warning("registry cache disabled: %s; check %s", again, self.path.parent)
                return None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            if db.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise sqlite3.DatabaseError("quick_check failed")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a lost write is only a cache miss
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self._db is None:
                return []
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                logger.warning("registry cache disabled after an error: %s", exc)
                self._db.close()
                self._db = None
                return []

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def get_tags(self, repository: str) -> CachedTags | None:
        rows = self._run(
            "SELECT tags, etag, fetched_at FROM tags WHERE repository=?", (repository,)
        )
        if not rows:
            return None
        tags, etag, fetched_at = rows[0]
        return CachedTags(tuple(json.loads(tags)), etag, fetched_at)

    def put_tags(self, repository: str, tags: tuple[str, ...], etag: str | None) -> None:
        self._run(
            "INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)",
            (repository, json.dumps(list(tags)), etag, time.time()),
        )

    def get_digest(self, repository: str, tag: str, max_age: float) -> str | None:
        rows = self._run(
            "SELECT digest FROM digests WHERE repository=? AND tag=? AND fetched_at>=?",
            (repository, tag, time.time() - max_age),
        )
        return str(rows[0][0]) if rows else None

    def clock(self) -> float:
        """Now, on the clock ``put_digest(asked=...)`` compares with evictions."""
        return time.monotonic()

    def put_digest(
        self, repository: str, tag: str, digest: str, *, asked: float | None = None
    ) -> None:
        """Keep ``digest``, unless the tag was forgotten since ``asked`` (``clock()`` when
        the registry was asked): an answer that raced a webhook is used once, never kept."""
        with self._lock:
            forgotten = self._forgotten.get((repository, tag))
            if forgotten is not None and asked is not None and forgotten >= asked:
                return
        self._run(
            "INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?)",
            (repository, tag, digest, time.time()),
        )

    def forget_digest(self, repository: str, tag: str) -> None:
        """Drop the cached digest of ``repository:tag``: a webhook says it was pushed."""
        with self._lock:
            self._forgotten[(repository, tag)] = time.monotonic()
            if len(self._forgotten) > MAX_FORGOTTEN:  # only recent ones can race
                del self._forgotten[next(iter(self._forgotten))]
        self._run("DELETE FROM digests WHERE repository=? AND tag=?", (repository, tag))

    def get_image(
        self, digest: str, platform: str
    ) -> tuple[datetime | None, dict[str, str]] | None:
        rows = self._run(
            "SELECT created, labels FROM images WHERE digest=? AND platform=?", (digest, platform)
        )
        if not rows:
            return None
        created, labels = rows[0]
        return (datetime.fromisoformat(created) if created else None), json.loads(labels)

    def put_image(
        self, digest: str, platform: str, created: datetime | None, labels: dict[str, str]
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?)",
            (digest, platform, created.isoformat() if created else None, json.dumps(labels)),
        )
