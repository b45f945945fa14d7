"""The soak of ``testing/soak.py`` for 30 seconds: nothing lost, nothing twice, RSS flat."""

from __future__ import annotations

from pathlib import Path

from testing import MissingServer
from testing.soak import run_soak
from tests.conftest import need


def test_soak_keeps_every_update_once_and_the_last_one(tmp_path: Path) -> None:
    try:
        report = run_soak(30.0, tmp_path)
    except MissingServer as exc:
        need(exc)
    print(report)
    assert report.updates >= 10 and report.faults > 0 and report.outages > 0
    assert report.landed == report.last_tag, report
    assert max(report.commits.values()) == 1, report.commits  # at most once per tag
    assert report.commits[report.last_tag] == 1
    start, end = report.rss_kb
    assert end < start + 30 * 1024, report  # flat: within 30 MiB of the start
