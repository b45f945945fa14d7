"""The dashboard's text: golden, escaped, the same for every replica."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from automator.forges.dashboard import MAX_BODY, dashboard_marker, escape, render_dashboard
from automator.model import Hold, Plan, Promotion, Skip
from tests.automator.forges.changes import change

PR = "https://github.com/acme/fleet/pull/3"


def plan() -> Plan:
    pending = change()
    declined = change("apps/web.yaml", "ghcr.io/acme/web:2.0.0", "ghcr.io/acme/web:2.1.0")
    held = change("apps/db.yaml", "ghcr.io/acme/db:5.1", "ghcr.io/acme/db:5.2").site
    rolled = change("apps/q.yaml", "ghcr.io/acme/q:1.0", "ghcr.io/acme/q:1.1").site
    promo = Promotion("apps/staging.yaml:7", "1.5.0", "a" * 40, "2026-11-25T10:00:00Z",
                      "2026-11-26T10:00:00Z")  # fmt: skip
    soak = replace(change("prod/api.yaml").site, promotion=promo)
    return Plan(
        changes=(pending,),
        skipped=(
            Skip(declined.site.where, "ghcr.io/acme/web:2.1.0 declined: pull request #1",
                 site=declined.site, hold=Hold("closed", PR.replace("3", "1"), "declined")),
            Skip(held.where, "held", site=held,
                 hold=Hold("freeze until 12-10", "automator.dev/hold")),
            Skip(rolled.where, "rolled back", site=rolled,
                 hold=Hold("moved back to 1.0 by Ann <ann@x>", "commit 0123456789ab", "rollback")),
            Skip(soak.where, "in soak", site=soak),
            Skip("ghcr.io/acme/gone", "401 listing tags; check the credentials", error=True),
            Skip("apps/old.yaml", "no policy"),
        ),
        sites=5,
    )  # fmt: skip


GOLDEN = Path(__file__).parent / "data" / "dashboard.golden.md"


def test_golden() -> None:
    links = {"clusters/prod/api.yaml:7": PR}
    assert render_dashboard("fleet", plan(), links) == GOLDEN.read_text()


def test_the_same_plan_renders_the_same_text() -> None:
    assert render_dashboard("fleet", plan(), {}) == render_dashboard("fleet", plan(), {})


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](https://evil.example)",
        "![x](https://evil.example/x.png)",
        "**bold** _it_ `code` ~~gone~~",
        "| a | b |\n### heading\n- item",
        "@octocat please look #123",
        "<!-- automator:dashboard source=other -->",
        "https://evil.example",
    ],
)
def test_text_from_the_repo_cannot_inject(hostile: str) -> None:
    held = change().site
    text = render_dashboard(
        "fleet", Plan(skipped=(Skip(held.where, "h", site=held, hold=Hold(hostile, "marker")),))
    )
    body = text.split("\n", 1)[1]
    line = next(ln for ln in body.splitlines() if "held by" in ln)
    reason = line.split("held by marker: ", 1)[1]
    assert reason == escape(hostile) and "\n" not in reason
    assert "<" not in reason and ">" not in reason and "@" not in reason
    # every character Markdown reads as markup is escaped by a backslash
    assert not re.search(
        r"(?<!\\)[`*_\[\]()#|~:!-]", reason.replace("\\\\", "").replace("&#64;", "")
    )
    assert body.count("<!--") == 0


def test_marker_names_the_source_and_never_closes_early() -> None:
    assert dashboard_marker("fleet") == "<!-- automator:dashboard source=fleet -->"
    assert "--" not in dashboard_marker("a--b").removeprefix("<!--").removesuffix("-->")


def test_a_huge_plan_is_cut_below_the_forge_limit() -> None:
    many = tuple(change(f"apps/{n:05d}/api.yaml") for n in range(3000))
    text = render_dashboard("fleet", Plan(changes=many))
    assert len(text) <= MAX_BODY and text.rstrip().endswith("the status page.")


def test_in_push_mode_the_changes_are_named_with_their_commit() -> None:
    text = render_dashboard("fleet", Plan(changes=(change(),)), committed="f" * 40)
    assert "1 updated, 0 declined" in text
    assert "### Updated by commit ffffffffffff (1)" in text and "Pending" not in text
    assert text.rstrip().endswith("| semver\\:\\~1\\.4 | updated |")


FAILED = "fleet: git fetch of git://127.0.0.1/fleet.git failed: repository not found; check the url"
GOLDEN_ERROR = Path(__file__).parent / "data" / "dashboard-error.golden.md"


def test_golden_failed_reconcile_keeps_the_last_plan_below_the_error() -> None:
    links = {"clusters/prod/api.yaml:7": PR}
    text = render_dashboard("fleet", plan(), links, error=FAILED)
    assert text == GOLDEN_ERROR.read_text()
    assert text.endswith(render_dashboard("fleet", plan(), links).split("\n", 2)[2])


def test_a_failed_reconcile_without_a_known_plan_shows_only_the_error() -> None:
    text = render_dashboard("fleet", None, error="<b>@ann</b> [x](y)")
    assert text.startswith(dashboard_marker("fleet") + "\n")
    [line] = [ln for ln in text.splitlines() if ln.startswith("- ")]
    assert line == f"- the last reconcile failed: {escape('<b>@ann</b> [x](y)')}"
    assert "### Errors (1)" in text and "Sites" not in text and "<b>" not in text
