"""Pull requests (and issues) on Gitea and Forgejo (REST API v1; the calls used are the same)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

from automator.forges.base import PullRequest, PullRequestExists
from automator.forges.issues import RepoIssues
from automator.forges.pulls import RepoPulls
from automator.http import Http
from automator.secrets import Secret

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 20


def gitea_api_root(api_url: str) -> str:
    """The ``/api/v1`` root of a Gitea or Forgejo at ``api_url`` (with or without it)."""
    url = api_url.rstrip("/")
    return url if url.endswith("/api/v1") else url + "/api/v1"


def _auth(token: str) -> Mapping[str, str]:
    return {"Authorization": f"token {token}"}


class Gitea(RepoPulls, RepoIssues):
    """One repository ``OWNER/NAME`` on a Gitea or (``forgejo=True``) Forgejo server."""

    edited = (200, 201)  # Gitea answers an edit with 201
    _list_params: ClassVar[Mapping[str, str]] = {
        "type": "issues"
    }  # the issue list holds pull requests unless told

    def __init__(
        self,
        *,
        api_url: str,
        repository: str,
        token: Secret,
        http: Http | None = None,
        max_wait_s: float = 60,
        forgejo: bool = False,
    ) -> None:
        self.forgejo = forgejo
        super().__init__(
            kind="forgejo" if forgejo else "gitea",
            api_root=gitea_api_root(api_url),
            auth=_auth,
            repository=repository,
            token=token,
            http=http,
            max_wait_s=max_wait_s,
        )

    def find_open_pr(self, head: str, base: str) -> PullRequest | None:
        return next(self._list("open", head, base), None)

    def find_closed_prs(self, head: str, base: str) -> list[PullRequest]:
        return [pr for pr in self._list("closed", head, base) if pr.state == "closed"]

    def _list(self, state: str, head: str, base: str) -> Iterator[PullRequest]:
        doing = f"listing {state} pull requests {head} -> {base}"
        # the list has no head filter (and Forgejo no base filter): page and filter here
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, str | int] = {"state": state, "page": page, "limit": PAGE_SIZE}
            reply = self.api.request("GET", f"{self._repo}/pulls", doing=doing, params=params)
            data = self.api.json(reply, doing)
            if not isinstance(data, list):
                raise self.api.malformed(doing, "a list of pull requests")
            for item in data:
                if item is None:  # Forgejo lists a PR it cannot load as null
                    continue
                pr = self._pr(item, doing)
                if pr.head == head and pr.base == base:
                    yield pr
            if len(data) < PAGE_SIZE:
                return
        logger.warning("%s: over %d %s pull requests; gave up", doing, PAGE_SIZE * MAX_PAGES, state)

    def create_pr(
        self,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        doing = f"creating pull request {head} -> {base}"
        # Gitea marks drafts by a title prefix ("WIP:" is among the defaults)
        title = f"WIP: {title}" if draft else title
        payload = {"head": head, "base": base, "title": title, "body": body}
        path = f"{self._repo}/pulls"
        reply = self.api.request("POST", path, doing=doing, json_body=payload, ok=(201, 409))
        if reply.status == 409:
            advice = "updating the open one instead"
            raise PullRequestExists(str(self.api.error(reply, doing, advice)))
        return self._label_new(self._pr(self.api.json(reply, doing), doing), labels)

    def enable_auto_merge(self, pr: PullRequest) -> None:
        doing = f"scheduling pull request #{pr.number} to merge when checks succeed"
        # Forgejo's API description spells the Go field name; Go reads either spelling
        payload = {
            "Do" if self.forgejo else "do": "merge",
            "merge_when_checks_succeed": True,
            "delete_branch_after_merge": True,
        }
        path = f"{self._repo}/pulls/{pr.number}/merge"
        self.api.request("POST", path, doing=doing, json_body=payload)
