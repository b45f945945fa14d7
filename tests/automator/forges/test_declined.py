"""Closed pull requests as decisions, against every fake forge (traffic checked against
each forge's API description, see conftest), and the pure reading of their markers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from automator.forges import Forge, PullRequest, render_pr, sync_pr
from automator.forges.declined import (
    CLOSED,
    Declined,
    declined_by,
    proposed_of,
    undone_body,
    version_id,
    without_declined,
)
from automator.model import Plan
from testing.fakeforge import FakeForge
from tests.automator.forges.changes import change

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")

HEAD = "automator/all"
Connect = Callable[..., Forge]


def test_a_pull_request_closed_by_a_person_declines_its_versions(
    fake: FakeForge, connect: Connect
) -> None:
    forge = connect()
    title, body = render_pr([change()], group="all")
    pr, _ = forge.ensure_pr(HEAD, "main", title, body)
    assert forge.find_closed_prs(HEAD, "main") == []
    fake.prs[0].state = "closed"  # a person closes it
    [closed] = forge.find_closed_prs(HEAD, "main")
    assert closed.number == pr.number and closed.state == "closed"
    decision = declined_by(closed)
    assert decision is not None and decision.versions == {version_id(change())}
    assert forge.find_closed_prs("automator/image/ghcr.io/acme/api", "main") == []


def test_a_pull_request_automator_closes_is_no_decision(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    forge.ensure_pr(HEAD, "main", *render_pr([change()], group="all"))
    _, outcome = sync_pr(forge, head=HEAD, base="main", content=None)
    assert outcome == "closed"
    [closed] = forge.find_closed_prs(HEAD, "main")
    assert CLOSED in closed.body and declined_by(closed) is None


def test_reopened_or_undone_is_no_decision() -> None:
    title, body = render_pr([change()], group="all")
    pr = PullRequest(1, "https://forge/pr/1", HEAD, "main", title, body, "closed")
    assert declined_by(pr) is not None
    assert declined_by(PullRequest(1, pr.url, HEAD, "main", title, body, "open")) is None
    assert declined_by(PullRequest(1, pr.url, HEAD, "main", title, body, "merged")) is None
    undone = undone_body(body, HEAD)
    assert declined_by(PullRequest(1, pr.url, HEAD, "main", title, undone, "closed")) is None
    # a pull request written before decisions were recorded proposes nothing
    old = body.replace("<!-- automator:proposed=", "<!-- ")
    assert declined_by(PullRequest(1, pr.url, HEAD, "main", title, old, "closed")) is None


@pytest.mark.parametrize("tag", ["1.4.3", "1.4.3--rc", "v1.4.3_b.2"])
def test_proposed_versions_round_trip_through_the_marker(tag: str) -> None:
    one = change(new=f"ghcr.io/acme/api:{tag}")
    _, body = render_pr([one], group="all")
    assert "--" not in body.split("automator:proposed=")[1].split(" -->")[0]
    assert proposed_of(body) == {version_id(one)}


def test_declined_changes_become_skips_that_name_the_pull_request() -> None:
    declined, kept = change(), change(new="ghcr.io/acme/api:1.4.4")
    decision = Declined(7, "https://forge/pr/7", frozenset({version_id(declined)}))
    plan = Plan(changes=(declined,), sites=1)
    out = without_declined(plan, lambda c: (HEAD, (decision,)))
    assert out.changes == ()
    [skip] = out.skipped
    assert skip.site == declined.site and not skip.error
    assert "#7 (https://forge/pr/7) was closed unmerged" in skip.reason
    assert f"delete branch {HEAD}" in skip.reason
    newer = Plan(changes=(kept,), sites=1)
    assert without_declined(newer, lambda c: (HEAD, (decision,))) is newer
    _, body = render_pr([kept], group="all", declined=[decision])
    assert "### Declined before" in body and "#7" in body and version_id(declined) in body
