"""Pull requests (and issues) on GitHub and GitHub Enterprise Server (REST API 2022-11-28)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from automator.errors import ForgeError
from automator.forges.base import PullRequest, PullRequestExists
from automator.forges.issues import RepoIssues
from automator.forges.pulls import RepoPulls
from automator.http import Http
from automator.secrets import Secret

API_VERSION = "2022-11-28"


def github_api_root(api_url: str) -> str:
    """``https://api.github.com`` as given; a bare Enterprise host gains ``/api/v3``."""
    url = api_url.rstrip("/")
    parts = urlsplit(url)
    if parts.hostname != "api.github.com" and parts.path in ("", "/"):
        return url + "/api/v3"
    return url


def _auth(token: str) -> Mapping[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }


class GitHub(RepoPulls, RepoIssues):
    """One repository ``OWNER/NAME`` on api.github.com or a GitHub Enterprise server."""

    def __init__(
        self,
        *,
        api_url: str,
        repository: str,
        token: Secret,
        http: Http | None = None,
        max_wait_s: float = 60,
    ) -> None:
        super().__init__(
            kind="github",
            api_root=github_api_root(api_url),
            auth=_auth,
            repository=repository,
            token=token,
            http=http,
            max_wait_s=max_wait_s,
        )

    def find_open_pr(self, head: str, base: str) -> PullRequest | None:
        return next(iter(self._list("open", head, base)), None)

    def find_closed_prs(self, head: str, base: str) -> list[PullRequest]:
        # closed includes merged ones, which _pr tells apart by merged_at
        return [pr for pr in self._list("closed", head, base) if pr.state == "closed"]

    def _list(self, state: str, head: str, base: str) -> list[PullRequest]:
        doing = f"listing {state} pull requests {head} -> {base}"
        # without OWNER: GitHub silently ignores the head filter and lists every PR
        params: dict[str, str | int] = {
            "state": state,
            "head": f"{self.owner}:{head}",
            "base": base,
            "per_page": 100,
        }
        reply = self.api.request("GET", f"{self._repo}/pulls", doing=doing, params=params)
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
        doing = f"creating pull request {head} -> {base}"
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        reply = self.api.request(
            "POST", f"{self._repo}/pulls", doing=doing, json_body=payload, ok=(201, 422)
        )
        if reply.status == 422:
            if "already exists" in self.api.message(reply):
                raise PullRequestExists(
                    str(self.api.error(reply, doing, "updating the open one instead"))
                )
            raise self.api.error(
                reply, doing, f"push branch {head} with commits that {base} lacks, then retry"
            )
        return self._label_new(self._pr(self.api.json(reply, doing), doing), labels)

    def enable_auto_merge(self, pr: PullRequest) -> None:
        raise ForgeError(
            f"github {self.api.repository}: auto-merge of {pr.url} needs GitHub's GraphQL"
            " API, which automator does not call yet; enable it on the pull request or use"
            " a merge queue"
        )
