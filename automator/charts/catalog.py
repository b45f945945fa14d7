"""Chart versions as the plan asks for them: ``ChartCatalog.candidates(source)``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import policies
from automator.charts.repository import HelmRepositories
from automator.errors import AutomatorError
from automator.model import ChartSource


class ChartCatalog:
    """The versions of each chart, from its repository's index (a 304 when unchanged)."""

    def __init__(self, repositories: HelmRepositories) -> None:
        self._repositories = repositories

    def candidates(self, source: ChartSource) -> Sequence[policies.Candidate] | AutomatorError:
        """Every listed version of ``source``'s chart, with its ``created`` time where known."""
        try:
            read = self._repositories.read(source.repo_url)
        except AutomatorError as exc:
            return exc
        return [
            policies.Candidate(v.version, _created(v.created))
            for v in read.index.versions(source.name)
        ]


def _created(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
