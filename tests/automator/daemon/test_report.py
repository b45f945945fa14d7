"""The Reporter alone: its log lines, its metrics, what it asks the notifier to send."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from automator import metrics
from automator.daemon.report import Reporter
from automator.engine import Outcome
from automator.errors import RegistryError
from automator.model import Change, Part, Plan, Site, Skip
from automator.reference import parse_reference
from automator.write import GroupResult

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class Notes:
    """A notifier that records each call."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []

    def notify(self, event: str, source: str, text: str, **details: Any) -> None:
        self.sent.append((event, source, text, details))


def change(file: str = "apps/api.yaml") -> Change:
    old = parse_reference("ghcr.io/acme/api:1.4.2")
    site = Site(file, 7, 0, 0, Part.REFERENCE, str(old), old, "semver:~1.4", "marker")
    new = parse_reference("ghcr.io/acme/api:1.4.3")
    return Change(site, str(old), str(new), new, "newest")


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="automator")
    return caplog


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records]


def test_a_pushed_commit(logged: pytest.LogCaptureFixture) -> None:
    name = "report-commit"
    notes = Notes()
    plan = Plan(
        changes=(change(),),
        skipped=(Skip("apps/odd.yaml", "not YAML"), Skip("ghcr.io/acme/gone", "401", error=True)),
        sites=3,
    )
    before = sample("automator_commits_total", source=name)
    Reporter(notes).reconciled(Outcome(name, plan, commit=COMMIT))
    described = "ghcr.io/acme/api 1.4.2 -> 1.4.3 in apps/api.yaml (semver:~1.4)"
    assert lines(logged) == [
        ("INFO", f"{name}: {described}"),
        ("WARNING", f"{name}: skipped apps/odd.yaml: not YAML"),
        ("ERROR", f"{name}: skipped ghcr.io/acme/gone: 401"),
        ("INFO", f"{name}: pushed commit {COMMIT}"),
    ]
    assert sample("automator_commits_total", source=name) == before + 1
    assert sample("automator_changes_total", source=name) >= 1
    assert sample("automator_scans_total", source=name, result="ok") >= 1
    assert sample("automator_last_success_timestamp_seconds", source=name) > 0
    [(event, source, text, details)] = notes.sent
    assert (event, source) == ("commit", name)
    assert text == f"{name}: pushed {COMMIT[:12]}: {described}"
    assert details["commit"] == COMMIT
    assert details["changes"] == [
        {
            "image": "ghcr.io/acme/api",
            "old": "ghcr.io/acme/api:1.4.2",
            "new": "ghcr.io/acme/api:1.4.3",
            "file": "apps/api.yaml",
        }
    ]


def test_pull_requests_are_counted_and_notified_only_when_they_change(
    logged: pytest.LogCaptureFixture,
) -> None:
    name = "report-prs"
    notes = Notes()
    results = (
        GroupResult("api", "automator/api", "created", url="https://forge.test/pr/1"),
        GroupResult("web", "automator/web", "unchanged"),
    )
    before = sample("automator_pull_requests_total", source=name, action="created")
    Reporter(notes).reconciled(Outcome(name, Plan(changes=(change(),)), pull_requests=results))
    assert lines(logged)[1:] == [
        ("INFO", f"{name}: automator/api: pull request created https://forge.test/pr/1"),
        ("INFO", f"{name}: automator/web: pull request unchanged"),
    ]
    assert sample("automator_pull_requests_total", source=name, action="created") == before + 1
    assert sample("automator_pull_requests_total", source=name, action="unchanged") == 0
    assert [(e, t, d["action"]) for e, _, t, d in notes.sent] == [
        ("pull-request", f"{name}: pull request created: https://forge.test/pr/1", "created")
    ]


def test_up_to_date(logged: pytest.LogCaptureFixture) -> None:
    notes = Notes()
    Reporter(notes).reconciled(Outcome("report-quiet", Plan(sites=4)))
    assert lines(logged) == [("INFO", "report-quiet: up to date (4 sites)")]
    assert notes.sent == []


def test_a_failure(logged: pytest.LogCaptureFixture) -> None:
    name = "report-failure"
    notes = Notes()
    error = RegistryError("ghcr.io/acme/api: 503 listing tags; retrying later", transient=True)
    labels = {"source": name, "error": "RegistryError", "transient": "true"}
    before = sample("automator_errors_total", **labels)
    reporter = Reporter(notes)
    reporter.failed(name, error)
    reporter.took(name, 2.5)
    assert lines(logged) == [("ERROR", f"{name}: {error}")]
    assert sample("automator_errors_total", **labels) == before + 1
    assert sample("automator_scans_total", source=name, result="error") >= 1
    assert sample("automator_cycle_duration_seconds_sum", source=name) >= 2.5
    assert notes.sent == [("failure", name, f"{name}: {error}", {"error": str(error)})]
