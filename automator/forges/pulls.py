"""What GitHub and Gitea/Forgejo share: the same ``/repos/OWNER/NAME/pulls`` shape.

Gitea's API copies GitHub's for these calls (paths, fields, labels via the issue);
they differ in auth, in how a duplicate is refused and in listing, which the
subclasses supply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from automator.errors import ForgeError
from automator.forges.base import EnsurePr, PullRequest
from automator.forges.client import ApiClient
from automator.http import Http
from automator.secrets import Secret

logger = logging.getLogger(__name__)


class RepoPulls(EnsurePr):
    """Pull requests of one repository ``OWNER/NAME`` on a GitHub-shaped API."""

    edited: tuple[int, ...] = (200,)  # statuses of a successful PATCH

    def __init__(
        self,
        *,
        kind: str,
        api_root: str,
        auth: Callable[[str], Mapping[str, str]],
        repository: str,
        token: Secret,
        http: Http | None,
        max_wait_s: float,
    ) -> None:
        owner, _, name = repository.partition("/")
        if not owner or not name or "/" in name:
            raise ForgeError(f"{kind} {repository}: the repository must be OWNER/NAME")
        self.owner = owner
        self.api = ApiClient(
            forge=kind,
            repository=repository,
            base_url=api_root,
            token=token,
            auth=auth,
            http=http,
            max_wait_s=max_wait_s,
        )
        self._repo = f"/repos/{owner}/{name}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.api.repository!r}, {self.api.base_url!r})"

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        return self._patch(pr, {"title": title, "body": body}, "updating")

    def close_pr(self, pr: PullRequest, body: str | None = None) -> PullRequest:
        payload = {"state": "closed"} if body is None else {"state": "closed", "body": body}
        return self._patch(pr, payload, "closing")

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> None:
        doing = f"labelling pull request #{pr.number}"
        # a pull request is an issue for labels; Gitea >= 1.19 and Forgejo take names too
        path = f"{self._repo}/issues/{pr.number}/labels"
        self.api.request("POST", path, doing=doing, json_body={"labels": list(labels)})

    def _label_new(self, pr: PullRequest, labels: Sequence[str]) -> PullRequest:
        if labels:
            try:
                self.add_labels(pr, labels)
            except ForgeError as exc:
                logger.warning("%s", exc)  # the PR is open; labels are a convenience
        return pr

    def _patch(self, pr: PullRequest, payload: Mapping[str, str], verb: str) -> PullRequest:
        doing = f"{verb} pull request #{pr.number}"
        path = f"{self._repo}/pulls/{pr.number}"
        reply = self.api.request("PATCH", path, doing=doing, json_body=payload, ok=self.edited)
        return self._pr(self.api.json(reply, doing), doing)

    def _pr(self, data: Any, doing: str) -> PullRequest:
        try:
            merged = data.get("merged") or data.get("merged_at")
            return PullRequest(
                number=int(data["number"]),
                url=str(data["html_url"]),
                head=str(data["head"]["ref"]),
                base=str(data["base"]["ref"]),
                title=str(data["title"]),
                body=str(data.get("body") or ""),
                state="merged" if merged else str(data["state"]),
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self.api.malformed(doing, "a pull request") from exc
