"""Issues on every forge: find, read, create and edit, for the status issue (dashboard).

``Issues`` is the seam the dashboard writer talks to. ``RepoIssues`` serves GitHub and
Gitea/Forgejo, whose ``/repos/OWNER/NAME/issues`` calls have the same shape (GitHub
lists pull requests among issues, marked by ``pull_request``; Gitea is asked for
issues only); ``ProjectIssues`` serves GitLab (``/projects/:id/issues``, ``iid``,
``description``, ``opened``). Listing is bounded: ``MAX_PAGES`` pages, newest first.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from automator.forges.client import ApiClient

logger = logging.getLogger(__name__)

PER_PAGE = 50
MAX_PAGES = 10  # 500 issues, newest first: a dashboard is found long before that


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue as every forge describes it."""

    number: int  # GitHub/Gitea number, GitLab iid
    url: str
    title: str
    body: str
    state: str  # "open" or "closed"


class Issues(Protocol):
    """The issue calls the dashboard needs, on one repository."""

    def find_issues(self, containing: str) -> list[Issue]:
        """Issues (open or closed, not pull requests) whose body holds ``containing``."""
        ...

    def get_issue(self, number: int) -> Issue | None:
        """Issue ``number``, or None when the forge has no such issue (deleted)."""
        ...

    def create_issue(self, title: str, body: str) -> Issue:
        """Open a new issue."""
        ...

    def edit_issue(self, issue: Issue, title: str, body: str) -> Issue:
        """Set the title and body of ``issue``."""
        ...


class RepoIssues:
    """Issues of ``/repos/OWNER/NAME`` (GitHub, Gitea, Forgejo); needs ``api`` and ``_repo``."""

    api: ApiClient
    _repo: str
    edited: tuple[int, ...]
    _list_params: ClassVar[Mapping[str, str]] = {}  # Gitea: type=issues

    def find_issues(self, containing: str) -> list[Issue]:
        doing = "listing issues to find the dashboard"
        found: list[Issue] = []
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, str | int] = {"state": "all", "page": page, **self._list_params}
            params[self._page_size] = PER_PAGE
            reply = self.api.request("GET", f"{self._repo}/issues", doing=doing, params=params)
            data = self.api.json(reply, doing)
            if not isinstance(data, list):
                raise self.api.malformed(doing, "a list of issues")
            items = [i for i in data if isinstance(i, dict) and not i.get("pull_request")]
            found += [i for i in (self._issue(d, doing) for d in items) if containing in i.body]
            if len(data) < PER_PAGE:
                break
        return found

    def get_issue(self, number: int) -> Issue | None:
        doing = f"reading issue #{number}"
        path = f"{self._repo}/issues/{number}"
        reply = self.api.request("GET", path, doing=doing, ok=(200, 404, 410))
        if reply.status != 200:
            return None
        data = self.api.json(reply, doing)
        return None if data.get("pull_request") else self._issue(data, doing)

    def create_issue(self, title: str, body: str) -> Issue:
        doing = "creating the dashboard issue"
        payload = {"title": title, "body": body}
        reply = self.api.request(
            "POST", f"{self._repo}/issues", doing=doing, json_body=payload, ok=(201,)
        )
        return self._issue(self.api.json(reply, doing), doing)

    def edit_issue(self, issue: Issue, title: str, body: str) -> Issue:
        doing = f"editing issue #{issue.number}"
        path = f"{self._repo}/issues/{issue.number}"
        payload = {"title": title, "body": body}
        reply = self.api.request("PATCH", path, doing=doing, json_body=payload, ok=self.edited)
        return self._issue(self.api.json(reply, doing), doing)

    @property
    def _page_size(self) -> str:
        return "per_page" if self.api.forge == "github" else "limit"

    def _issue(self, data: Any, doing: str) -> Issue:
        try:
            return Issue(
                number=int(data["number"]),
                url=str(data["html_url"]),
                title=str(data["title"]),
                body=str(data.get("body") or ""),
                state=str(data["state"]),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self.api.malformed(doing, "an issue") from exc


class ProjectIssues:
    """Issues of a GitLab project; needs ``api`` and ``_project``."""

    api: ApiClient
    _project: str

    def find_issues(self, containing: str) -> list[Issue]:
        doing = "listing issues to find the dashboard"
        found: list[Issue] = []
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, str | int] = {"page": page, "per_page": PER_PAGE}
            reply = self.api.request("GET", f"{self._project}/issues", doing=doing, params=params)
            data = self.api.json(reply, doing)
            if not isinstance(data, list):
                raise self.api.malformed(doing, "a list of issues")
            found += [i for i in (self._issue(d, doing) for d in data) if containing in i.body]
            if len(data) < PER_PAGE:
                break
        return found

    def get_issue(self, number: int) -> Issue | None:
        doing = f"reading issue #{number}"
        path = f"{self._project}/issues/{number}"
        reply = self.api.request("GET", path, doing=doing, ok=(200, 404))
        if reply.status != 200:
            return None
        return self._issue(self.api.json(reply, doing), doing)

    def create_issue(self, title: str, body: str) -> Issue:
        doing = "creating the dashboard issue"
        payload = {"title": title, "description": body}
        path = f"{self._project}/issues"
        reply = self.api.request("POST", path, doing=doing, json_body=payload, ok=(201,))
        return self._issue(self.api.json(reply, doing), doing)

    def edit_issue(self, issue: Issue, title: str, body: str) -> Issue:
        doing = f"editing issue #{issue.number}"
        path = f"{self._project}/issues/{issue.number}"
        payload = {"title": title, "description": body}
        reply = self.api.request("PUT", path, doing=doing, json_body=payload)
        return self._issue(self.api.json(reply, doing), doing)

    def _issue(self, data: Any, doing: str) -> Issue:
        try:
            state = str(data["state"])
            return Issue(
                number=int(data["iid"]),
                url=str(data["web_url"]),
                title=str(data["title"]),
                body=str(data.get("description") or ""),
                state="open" if state == "opened" else state,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self.api.malformed(doing, "an issue") from exc
