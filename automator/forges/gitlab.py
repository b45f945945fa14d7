"""Merge requests (and issues) on GitLab (gitlab.com or self-hosted, REST API v4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from automator.errors import ForgeError
from automator.forges.base import EnsurePr, PullRequest, PullRequestExists
from automator.forges.client import ApiClient
from automator.forges.issues import ProjectIssues
from automator.http import Http
from automator.secrets import Secret

_STATES = {"opened": "open", "locked": "open", "closed": "closed", "merged": "merged"}


def gitlab_api_root(api_url: str) -> str:
    """The ``/api/v4`` root of a GitLab at ``api_url`` (given with or without it)."""
    url = api_url.rstrip("/")
    return url if url.endswith("/api/v4") else url + "/api/v4"


def _auth(token: str) -> Mapping[str, str]:
    return {"PRIVATE-TOKEN": token}


class GitLab(EnsurePr, ProjectIssues):
    """One project, named by its numeric id or its path ``group/subgroup/project``."""

    def __init__(
        self,
        *,
        api_url: str,
        repository: str,
        token: Secret,
        http: Http | None = None,
        max_wait_s: float = 60,
    ) -> None:
        if not repository.strip("/"):
            raise ForgeError("gitlab: name the project by its id or its path group/project")
        self.api = ApiClient(
            forge="gitlab",
            repository=repository,
            base_url=gitlab_api_root(api_url),
            token=token,
            auth=_auth,
            http=http,
            max_wait_s=max_wait_s,
        )
        self._project = f"/projects/{quote(repository.strip('/'), safe='')}"

    def __repr__(self) -> str:
        return f"GitLab({self.api.repository!r}, {self.api.base_url!r})"

    def find_open_pr(self, head: str, base: str) -> PullRequest | None:
        return next(iter(self._list("opened", head, base)), None)

    def find_closed_prs(self, head: str, base: str) -> list[PullRequest]:
        return [pr for pr in self._list("closed", head, base) if pr.state == "closed"]

    def _list(self, state: str, head: str, base: str) -> list[PullRequest]:
        doing = f"listing {state} merge requests {head} -> {base}"
        params: dict[str, str | int] = {
            "state": state,
            "source_branch": head,
            "target_branch": base,
            "per_page": 100,
        }
        reply = self.api.request(
            "GET", f"{self._project}/merge_requests", doing=doing, params=params
        )
        data = self.api.json(reply, doing)
        found = [self._pr(item, doing) for item in data] if isinstance(data, list) else []
        return [pr for pr in found if pr.head == head and pr.base == base]

    def create_pr(
        self,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        doing = f"creating merge request {head} -> {base}"
        payload: dict[str, Any] = {
            "source_branch": head,
            "target_branch": base,
            "title": f"Draft: {title}" if draft else title,
            "description": body,
            "remove_source_branch": True,
        }
        if labels:
            payload["labels"] = list(labels)
        path = f"{self._project}/merge_requests"
        reply = self.api.request("POST", path, doing=doing, json_body=payload, ok=(201, 409))
        if reply.status == 409:
            raise PullRequestExists(
                str(self.api.error(reply, doing, "updating the open one instead"))
            )
        return self._pr(self.api.json(reply, doing), doing)

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        return self._put(pr, {"title": title, "description": body}, "updating")

    def close_pr(self, pr: PullRequest, body: str | None = None) -> PullRequest:
        payload = {"state_event": "close"}
        if body is not None:
            payload["description"] = body
        return self._put(pr, payload, "closing")

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> None:
        self._put(pr, {"add_labels": list(labels)}, "labelling")

    def enable_auto_merge(self, pr: PullRequest) -> None:
        doing = f"setting merge request !{pr.number} to merge when its pipeline succeeds"
        # auto_merge since GitLab 17.11; older servers read the deprecated field
        payload = {"auto_merge": True, "merge_when_pipeline_succeeds": True}
        path = f"{self._project}/merge_requests/{pr.number}/merge"
        self.api.request("PUT", path, doing=doing, json_body=payload)

    def _put(self, pr: PullRequest, payload: Mapping[str, Any], verb: str) -> PullRequest:
        doing = f"{verb} merge request !{pr.number}"
        path = f"{self._project}/merge_requests/{pr.number}"
        reply = self.api.request("PUT", path, doing=doing, json_body=payload)
        return self._pr(self.api.json(reply, doing), doing)

    def _pr(self, data: Any, doing: str) -> PullRequest:
        try:
            return PullRequest(
                number=int(data["iid"]),
                url=str(data["web_url"]),
                head=str(data["source_branch"]),
                base=str(data["target_branch"]),
                title=str(data["title"]),
                body=str(data.get("description") or ""),
                state=_STATES.get(str(data["state"]), str(data["state"])),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self.api.malformed(doing, "a merge request") from exc
