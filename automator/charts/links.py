"""The links a pull request shows for a chart update: its source, home and release notes.

A classic chart's come from the index entry of its new version (``sources``, ``home``,
the ``artifacthub.io/releaseNotes`` annotation), as last read: no request is sent. An
OCI chart's come from its manifest's annotations, which ``helm push`` writes from
Chart.yaml (``org.opencontainers.image.source`` and ``.url``, and the chart's own
annotations), read through the ``annotations`` seam. They are returned under the OCI
label names image links use; which of them is safe to show is the renderer's call
(``forges.content``). Best effort: a chart whose links cannot be read has none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from automator.charts.catalog import ChartCatalog
from automator.errors import AutomatorError
from automator.model import Change
from automator.reference import ImageRef

logger = logging.getLogger(__name__)

SOURCE: Final = "org.opencontainers.image.source"
HOMEPAGE: Final = "org.opencontainers.image.url"
NOTES: Final = "artifacthub.io/releaseNotes"
_KEPT: Final = (SOURCE, HOMEPAGE, NOTES)

Annotations = Callable[[ImageRef], Mapping[str, str]]
"""The annotations of an OCI artifact's manifest, by its reference with the tag."""


class ChartLinks:
    """``labels(changes)``: each chart update's links by its new reference."""

    def __init__(self, charts: ChartCatalog | None, annotations: Annotations | None) -> None:
        self._charts = charts
        self._annotations = annotations

    def labels(self, changes: Iterable[Change]) -> dict[str, dict[str, str]]:
        """Links of the chart updates among ``changes`` (others are passed over)."""
        found: dict[str, dict[str, str]] = {}
        for change in changes:
            key = str(change.image)
            if key in found:
                continue
            if change.site.chart is not None and self._charts is not None:
                version = self._charts.version(change.site.chart, change.new)
                if version is not None:
                    http = [s for s in version.sources if s.startswith(("https://", "http://"))]
                    links = {SOURCE: http[0] if http else "", HOMEPAGE: version.home}
                    found[key] = {k: v for k, v in (links | {NOTES: version.notes}).items() if v}
            elif change.site.artifact and self._annotations is not None:
                try:
                    annotations = self._annotations(change.image)
                except AutomatorError as exc:
                    logger.debug("%s: no annotations: %s", change.image, exc)
                    continue
                found[key] = {k: annotations[k] for k in _KEPT if k in annotations}
        return found
