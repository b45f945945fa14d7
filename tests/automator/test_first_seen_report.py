"""What ``check`` says of first-seen Sites: pure, on a record given in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from automator.firstseen import Recorded, first_seen_notes
from automator.model import Part, Site
from automator.reference import parse_reference

REPO = "ghcr.io/acme/api"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def site(policy: str, line: int = 3) -> Site:
    value = f"{REPO}:1.4.2"
    ref = parse_reference(value)
    return Site("apps/api.yaml", line, 0, len(value), Part.REFERENCE, value, ref,
                policy, "annotation")  # fmt: skip


def test_each_recorded_candidate_waits_or_is_old_enough_best_first() -> None:
    times = {
        (REPO, "1.4.3"): NOW - timedelta(hours=30),
        (REPO, "1.4.4"): NOW - timedelta(hours=2),
        (REPO, "1.5.0"): NOW - timedelta(days=3),  # out of range
        (REPO, "1.4.1"): NOW - timedelta(days=3),  # below the running tag
        ("ghcr.io/acme/web", "1.4.9"): NOW,  # another repository
    }
    sites = [site("semver:~1.4;min-age=1d;age-from=first-seen"), site("semver:~1.4", 9)]
    notes = first_seen_notes(sites, Recorded(times, "c1"), NOW)
    assert notes == {
        "apps/api.yaml:3": [
            "1.4.4 first seen 2026-12-02T07:00Z by automator, 2 h ago; waits until"
            " 2026-12-03T07:00Z (min-age 1d)",
            "1.4.3 first seen 2026-12-01T03:00Z by automator, 30 h ago; old enough since"
            " 2026-12-02T03:00Z (min-age 1d)",
        ]
    }


def test_the_config_default_an_empty_and_an_unread_record() -> None:
    sites = [site("semver:~1.4;min-age=1d")]
    assert first_seen_notes(sites, Recorded(), NOW) == {}, "age from build: nothing to say"
    assert first_seen_notes(sites, Recorded(), NOW, age_from="first-seen") == {
        "apps/api.yaml:3": ["no newer tag in range recorded as seen by automator yet"]
    }
    unread = Recorded(problem="ref not read")
    assert first_seen_notes(sites, unread, NOW, age_from="first-seen") == {
        "apps/api.yaml:3": ["first-seen record not read: every tag counts as seen now"]
    }
