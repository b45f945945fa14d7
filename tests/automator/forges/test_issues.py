"""Issue calls (the dashboard's) against the four fake forges, traffic checked."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from automator.errors import ForgeError
from automator.forges import Forge, issues_of
from automator.forges.issues import Issues
from testing.fakeforge import FakeForge
from testing.fakeissues import FakeIssue

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")

MARK = "<!-- automator:dashboard source=fleet -->"


def issues(connect: Callable[..., Forge]) -> Issues:
    return issues_of(connect())


def test_create_find_read_edit(fake: FakeForge, connect: Callable[..., Forge]) -> None:
    forge = issues(connect)
    assert forge.find_issues(MARK) == []
    created = forge.create_issue("automator dashboard: fleet", f"{MARK}\nhello")
    assert created.state == "open" and created.body.startswith(MARK)
    assert [i.number for i in forge.find_issues(MARK)] == [created.number]
    assert forge.get_issue(created.number) == created
    edited = forge.edit_issue(created, "new title", f"{MARK}\nbye")
    assert (edited.number, edited.title) == (created.number, "new title")
    assert edited.body == f"{MARK}\nbye"
    assert fake.issues[0].body == f"{MARK}\nbye"
    assert forge.get_issue(created.number + 100) is None


def test_find_sees_closed_issues_and_skips_others(
    fake: FakeForge, connect: Callable[..., Forge]
) -> None:
    first = 1 if fake.kind == "gitlab" else 1001
    fake.issues += [
        FakeIssue(first, "unrelated", "no marker"),
        FakeIssue(first + 1, "dash", f"{MARK}\n", state="closed"),
    ]
    [found] = issues(connect).find_issues(MARK)
    assert (found.number, found.state) == (first + 1, "closed")


def test_a_refused_create_is_one_line(fake: FakeForge, connect: Callable[..., Forge]) -> None:
    if fake.kind in ("gitea", "forgejo"):
        fake.inject(403, {"message": "forbidden", "url": "http://127.0.0.1/api/swagger"})
    elif fake.kind == "github":
        fake.inject(403, {"message": "Resource not accessible by integration"})
    else:
        fake.inject(403, {"message": "403 Forbidden"})
    with pytest.raises(ForgeError, match="creating the dashboard issue") as caught:
        issues(connect).create_issue("t", "b")
    assert "\n" not in str(caught.value)
