"""The status board and page alone: what they keep, what they show, and that markup
from outside is shown as text (the page is parsed as a browser would tokenise it)."""

from __future__ import annotations

import json
from dataclasses import replace
from html.parser import HTMLParser

from automator.daemon.status import StatusBoard, status_document
from automator.daemon.statuspage import render_page
from automator.engine import Outcome
from automator.errors import GitError
from automator.model import Change, Hold, Part, Plan, Promotion, Site, Skip
from automator.reference import ImageRef, parse_reference
from automator.write import GroupResult

NOW = 1_800_000_000.0
EVIL_FILE = "apps/<img src=x onerror=alert(1)>.yaml"
EVIL_POLICY = 'semver:~1.4;ignore="\'><script>alert(2)</script>"'
EVIL_TAG = "<script>alert(3)</script>"


class Page(HTMLParser):
    """The tags, attributes and text a browser would see."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def site(file: str, policy: str, ref: str = "ghcr.io/acme/api:1.4.2") -> Site:
    image = parse_reference(ref)
    return Site(file, 3, 0, 0, Part.REFERENCE, ref, image, policy, "marker")


def hostile_outcome() -> Outcome:
    old = site(EVIL_FILE, EVIL_POLICY)
    new = ImageRef("ghcr.io", "acme/api", EVIL_TAG, None)  # as if a registry offered it
    plan = Plan(
        changes=(Change(old, "x", "y", new, f"newest of {EVIL_TAG}"),),
        current=(site("apps/web.yaml", "semver:^2", "ghcr.io/acme/web:2.0.1"),),
        skipped=(
            Skip("apps/bad.yaml:9", f"tag {EVIL_TAG} is not a version", error=True),
            Skip("apps/odd.yaml", "not YAML"),
        ),
        sites=3,
    )
    pulls = (
        GroupResult("all", "automator/all", "created", "https://forge.example/acme/fleet/pull/7"),
        GroupResult("evil", "automator/evil", "updated", "javascript:alert(4)"),
        GroupResult("gone", "automator/gone", "closed", "https://forge.example/acme/fleet/pull/1"),
    )
    return Outcome("fleet", plan, commit="ab" * 20, pull_requests=pulls)


def board_with_both() -> StatusBoard:
    board = StatusBoard(["fleet", "broken"], wall=lambda: NOW)
    board.reconciled(hostile_outcome(), NOW - 60, 1.5)
    secret_url = "https://robot:hunter2-token@git.example.com/acme/broken.git"
    board.failed("broken", GitError(f"{secret_url}: 403 fetching; check the token"), NOW - 30, 0.2)
    board.failed("broken", GitError(f"{secret_url}: 403 fetching; check the token"), NOW - 20, 0.2)
    return board


def test_the_board_keeps_sites_problems_open_pulls_and_failures() -> None:
    fleet, broken = board_with_both().sources({"fleet": NOW + 3600}, running=["broken"])
    assert fleet.last is not None and fleet.last.result == "ok"
    assert fleet.last.pushed == "ab" * 20 and fleet.last.seconds == 1.5
    assert fleet.next_at == NOW + 3600 and not fleet.running
    assert [(r.file, r.status, r.proposed) for r in fleet.sites] == [
        (EVIL_FILE, "changed", EVIL_TAG),
        ("apps/web.yaml", "current", None),
    ]
    assert [(p.where, p.error) for p in fleet.problems] == [
        ("apps/bad.yaml:9", True),
        ("apps/odd.yaml", False),
    ]
    # closed ones are not open; a link that is not http(s) is dropped, the branch stays
    assert [(p.branch, p.url) for p in fleet.pull_requests] == [
        ("automator/all", "https://forge.example/acme/fleet/pull/7"),
        ("automator/evil", None),
    ]
    assert broken.last is not None and broken.last.result == "failed"
    assert broken.failures == 2 and broken.running
    assert "hunter2" not in broken.last.error and "403 fetching" in broken.last.error


def test_the_json_is_the_same_data() -> None:
    board = board_with_both()
    document = json.loads(json.dumps(status_document(board.sources(), NOW)))
    assert document["version"] == 1
    assert [s["name"] for s in document["sources"]] == ["fleet", "broken"]
    fleet = document["sources"][0]
    assert fleet["sites"][0]["policy"] == EVIL_POLICY
    assert fleet["sites"][0]["file"] == EVIL_FILE
    assert "hunter2" not in json.dumps(document)


def test_markup_from_outside_is_text_on_the_page() -> None:
    html = render_page(board_with_both().sources({"fleet": NOW + 60}), NOW)
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert not [name for name, _ in page.attrs if name.startswith("on")]
    hrefs = [value for name, value in page.attrs if name == "href"]
    assert hrefs == ["/status", "https://forge.example/acme/fleet/pull/7"]
    text = page.all_text
    assert f"{EVIL_FILE}:3" in text and EVIL_POLICY in text and EVIL_TAG in text
    assert "failing (2 in a row)" in text and "403 fetching" in text
    assert "hunter2" not in html and "javascript:" not in html


def test_a_source_not_reconciled_yet_says_so() -> None:
    board = StatusBoard(["new"], wall=lambda: NOW)
    text = Page(render_page(board.sources(), NOW)).all_text
    assert "first reconcile not finished" in text and "No Sites known yet" in text


def decided_outcome() -> Outcome:
    """Sites people decided about: a hold (with markup in its reason), a rollback, two
    declined versions (one 'link' that is no web URL) and a promotion in soak."""
    held = site("apps/held.yaml", "semver:~1.4")
    rolled = site("apps/rolled.yaml", "semver:~1.4")
    declined = site("apps/declined.yaml", "semver:~1.4")
    evil = site("apps/evil.yaml", "semver:~1.4")
    promo = Promotion("apps/staging.yaml:3", "1.5.0", "c" * 40, "2026-11-25T10:00:00Z",
                      "2026-11-26T10:00:00Z")  # fmt: skip
    soak = replace(site("apps/prod.yaml", "semver:~1.4"), promotion=promo)
    pr = "https://forge.example/acme/fleet/pull/3"
    plan = Plan(
        skipped=(
            Skip(held.where, "held", site=held, hold=Hold(f"freeze {EVIL_TAG}", "marker")),
            Skip(rolled.where, "rolled back", site=rolled,
                 hold=Hold("moved back by Ann", "commit 0123456789ab", "rollback")),
            Skip(declined.where, f"ghcr.io/acme/api:1.4.3 declined: pull request #3 ({pr})",
                 site=declined, hold=Hold("closed unmerged", pr, "declined")),
            Skip(evil.where, "ghcr.io/acme/api:1.4.4 declined: pull request #4", site=evil,
                 hold=Hold("closed unmerged", "javascript:alert(5)", "declined")),
            Skip(soak.where, "in soak", site=soak),
        ),
        sites=5,
    )  # fmt: skip
    return Outcome("fleet", plan, commit="ab" * 20)


def test_holds_rollbacks_declined_and_soaks_are_rows_escaped_like_the_rest() -> None:
    board = StatusBoard(["fleet"], wall=lambda: NOW)
    board.reconciled(decided_outcome(), NOW - 60, 1.0)
    [fleet] = board.sources()
    assert [(h.where, h.kind, h.url) for h in fleet.holds] == [
        ("apps/held.yaml:3", "hold", None),
        ("apps/rolled.yaml:3", "rollback", None),
        ("apps/declined.yaml:3", "declined", "https://forge.example/acme/fleet/pull/3"),
        ("apps/evil.yaml:3", "declined", None),
    ]
    assert fleet.holds[1].by == "commit 0123456789ab" and fleet.holds[2].reason.endswith("1.4.3")
    [soak] = fleet.soaks
    assert (soak.where, soak.tag, soak.commit, soak.until) == (
        "apps/prod.yaml:3", "1.5.0", "c" * 12, "2026-11-26T10:00:00Z",
    )  # fmt: skip
    document = json.loads(json.dumps(status_document(board.sources(), NOW)))
    assert document["sources"][0]["holds"][0]["reason"] == f"freeze {EVIL_TAG}"
    assert document["sources"][0]["soaks"][0]["source"] == "apps/staging.yaml:3"

    html = render_page(board.sources(), NOW)
    page = Page(html)
    assert "script" not in page.tags  # a 'link' that is no web URL is only text
    hrefs = [value for name, value in page.attrs if name == "href"]
    assert hrefs == ["/status", "https://forge.example/acme/fleet/pull/3"]
    text = page.all_text
    assert "Held, rolled back and declined" in text and "Promotions in soak" in text
    assert f"freeze {EVIL_TAG}" in text and "commit 0123456789ab" in text
    assert "2026-11-26T10:00:00Z" in text and "apps/staging.yaml:3" in text
