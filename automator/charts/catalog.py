"""Chart versions as the plan asks for them: ``ChartCatalog.candidates(source)``.

A version whose archive URL is on another host than its repository is not a candidate
unless that host is allowed too (listed under ``registries:``): an index must not steer
a release to archives on a host nobody chose. One warning line names what was left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import policies
from automator.charts.index import ChartIndex, ChartVersion
from automator.charts.repository import HelmRepositories, index_url
from automator.errors import AutomatorError
from automator.model import ChartSource

logger = logging.getLogger(__name__)


class ChartCatalog:
    """The versions of each chart, from its repository's index (a 304 when unchanged)."""

    def __init__(
        self, repositories: HelmRepositories, allowed: Callable[[str], bool] = lambda host: False
    ) -> None:
        self._repositories = repositories
        self._allowed = allowed  # other hosts archives may be on
        self._indexes: dict[str, ChartIndex] = {}  # the last index read of each repository

    def candidates(self, source: ChartSource) -> Sequence[policies.Candidate] | AutomatorError:
        """Every listed version of ``source``'s chart, with its ``created`` time where known."""
        try:
            read = self._repositories.read(source.repo_url)
        except AutomatorError as exc:
            return exc
        self._indexes[source.repo_url] = read.index
        if read.index.dropped and read.status == 200:
            logger.warning(
                "%s: %d versions in index.yaml dropped (no version, or one with a newline or"
                " control characters)", source.repo_url, read.index.dropped,
            )  # fmt: skip
        home = urlsplit(index_url(source.repo_url)).netloc.lower()
        kept, foreign = [], []
        for version in read.index.versions(source.name):
            host = _archive_host(source.repo_url, version)
            if host in (home, "") or self._allowed(host):
                kept.append(policies.Candidate(version.version, _created(version.created)))
            else:
                foreign.append((version.version, host))
        if foreign:
            logger.warning(
                "%s: chart %s %s (and %d more) has its archive on %s, another host; not a"
                " candidate (list the host under registries: to allow it)",
                source.repo_url, source.name, foreign[0][0][:40], len(foreign) - 1,
                foreign[0][1][:80],
            )  # fmt: skip
        return kept

    def version(self, source: ChartSource, version: str) -> ChartVersion | None:
        """What the index last read for ``source`` says of ``version`` (no request is sent)."""
        index = self._indexes.get(source.repo_url)
        found = index.versions(source.name) if index is not None else ()
        return next((v for v in found if v.version == version), None)


def _archive_host(repo_url: str, version: ChartVersion) -> str:
    """The host of the version's archive URL (relative URLs are on the repository's)."""
    if not version.url:
        return ""
    return urlsplit(urljoin(index_url(repo_url), version.url)).netloc.rpartition("@")[2].lower()


def _created(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
