"""Issues on the fake forges (``fakeforge``): list, read, create, edit.

GitHub's answers are built from the example in its API description; Gitea's and
Forgejo's from their ``Issue`` definition's fields; GitLab's from its documented
issue fields (its OpenAPI description does not describe issues: see data/README.md).
The real GitHub and Gitea number issues and pull requests together; the fake numbers
its issues from 1001, so they never meet the pull requests' numbers it counts apart.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from testing.fakeforge import Answer, FakeForge

STAMP = "2026-11-26T12:00:00Z"
DOCS = "https://docs.github.com/rest"


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str
    state: str = "open"


def answer(
    fake: FakeForge, method: str, path: str, query: dict[str, list[str]], body: Any
) -> Answer | None:
    """The answer to an issue call, None when ``path`` is no issue call."""
    parts = path.strip("/").split("/")
    if fake.kind == "gitlab":
        project = ["projects", quote(fake.repository, safe="")]
        if parts[:2] not in (project, ["projects", "42"]) or parts[2:3] != ["issues"]:
            return None
        rest = parts[3:]
    else:
        if parts[:3] != ["repos", *fake.repository.split("/")] or parts[3:4] != ["issues"]:
            return None
        rest = parts[4:]
    if rest == [] and method == "GET":
        return 200, _page(fake, query), {}
    if rest == [] and method == "POST":
        new = FakeIssue(_next_number(fake), body["title"], body.get(_text(fake)) or "")
        fake.issues.append(new)
        return 201, _render(fake, new), {}
    if len(rest) == 1 and rest[0].isdigit():
        issue = next((i for i in fake.issues if i.number == int(rest[0])), None)
        if issue is None:
            return _not_found(fake)
        if method == "GET":
            return 200, _render(fake, issue), {}
        if method in ("PATCH", "PUT"):
            issue.title = body.get("title", issue.title)
            issue.body = body.get(_text(fake), issue.body)
            edited = 201 if fake.kind in ("gitea", "forgejo") else 200
            return edited, _render(fake, issue), {}
    return None


def _text(fake: FakeForge) -> str:
    return "description" if fake.kind == "gitlab" else "body"


def _next_number(fake: FakeForge) -> int:
    return len(fake.issues) + (1 if fake.kind == "gitlab" else 1001)


def _page(fake: FakeForge, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    state = query.get("state", ["open"] if fake.kind != "gitlab" else ["all"])[0]
    state = {"opened": "open"}.get(state, state)
    size = int(query.get("per_page", query.get("limit", ["30"]))[0])
    page = int(query.get("page", ["1"])[0])
    found = [i for i in reversed(fake.issues) if state in ("all", i.state)]  # newest first
    return [_render(fake, i) for i in found[(page - 1) * size : page * size]]


def _not_found(fake: FakeForge) -> Answer:
    if fake.kind == "github":
        return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
    if fake.kind == "gitlab":
        return 404, {"message": "404 Not found"}, {}
    if fake.kind == "forgejo":  # Forgejo describes a body; Gitea none
        return 404, {"message": "issue does not exist", "url": "http://127.0.0.1/api/swagger"}, {}
    return 404, None, {}


def _render(fake: FakeForge, issue: FakeIssue) -> dict[str, Any]:
    if fake.kind == "github":
        return _github(fake, issue)
    if fake.kind == "gitlab":
        return {
            "id": 5000 + issue.number,
            "iid": issue.number,
            "project_id": 42,
            "title": issue.title,
            "description": issue.body,
            "state": {"open": "opened"}.get(issue.state, issue.state),
            "created_at": STAMP,
            "updated_at": STAMP,
            "labels": [],
            "web_url": f"https://gitlab.example.com/{fake.repository}/-/issues/{issue.number}",
        }
    data: dict[str, Any] = {
        "id": 500 + issue.number,
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "html_url": f"https://gitea.example.com/{fake.repository}/issues/{issue.number}",
        "url": f"https://gitea.example.com/api/v1/repos/{fake.repository}/issues/{issue.number}",
        "labels": [],
        "comments": 0,
        "created_at": STAMP,
        "updated_at": STAMP,
    }
    if issue.state == "closed":
        data["closed_at"] = STAMP
    return data


def _github(fake: FakeForge, issue: FakeIssue) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(fake.examples["issue"]["value"])
    data.pop("pull_request", None)  # the example is a pull request's issue; this one is not
    data.update(
        number=issue.number,
        title=issue.title,
        body=issue.body,
        state=issue.state,
        url=f"https://api.github.com/repos/{fake.repository}/issues/{issue.number}",
        html_url=f"https://github.com/{fake.repository}/issues/{issue.number}",
        closed_at=None if issue.state == "open" else STAMP,
        state_reason="completed",
    )
    if issue.state == "open":  # the description's enum has no null, though GitHub sends it
        del data["state_reason"]
    return data
