"""The one small interface every forge implements, and what is built on it.

``Forge`` is the seam: the engine talks to it, tests pass fakes through it. A pull
request is the same value on every forge (GitLab calls it a merge request).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, cast

from automator.errors import ForgeError

logger = logging.getLogger(__name__)

EnsureAction = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull (merge) request as every forge describes it."""

    number: int  # GitHub/Gitea number, GitLab iid
    url: str  # the page people open
    head: str  # source branch
    base: str  # target branch
    title: str
    body: str
    state: str  # "open", "closed" or "merged"


class PullRequestExists(ForgeError):
    """The forge refused to create a pull request because one is already open."""


class ForgeOperations(Protocol):
    """The primitive calls every forge has; ``ensure_pr`` is built from them."""

    def find_open_pr(self, head: str, base: str) -> PullRequest | None:
        """The open pull request from ``head`` into ``base``, if there is one."""
        ...

    def create_pr(
        self,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        """Open a pull request; raises ``PullRequestExists`` when one is already open."""
        ...

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        """Set the title and body of ``pr``."""
        ...


class Forge(ForgeOperations, Protocol):
    """Pull requests on one repository of one forge."""

    def close_pr(self, pr: PullRequest, body: str | None = None) -> PullRequest:
        """Close ``pr`` without merging it; with ``body``, set its body as it closes."""
        ...

    def find_closed_prs(self, head: str, base: str) -> list[PullRequest]:
        """The pull requests from ``head`` into ``base`` closed without merging."""
        ...

    def add_labels(self, pr: PullRequest, labels: Sequence[str]) -> None:
        """Add ``labels`` (names) to ``pr``; labels it already has stay."""
        ...

    def enable_auto_merge(self, pr: PullRequest) -> None:
        """Merge ``pr`` once its checks pass; ForgeError where the forge cannot."""
        ...

    def ensure_pr(
        self,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> tuple[PullRequest, EnsureAction]:
        """Open or update the one pull request from ``head`` into ``base``."""
        ...


def ensure_pr(
    forge: ForgeOperations,
    head: str,
    base: str,
    title: str,
    body: str,
    labels: Sequence[str] = (),
    draft: bool = False,
) -> tuple[PullRequest, EnsureAction]:
    """Find the open pull request and update it, else create one.

    Safe to race: when another writer opens the pull request between our look-up and
    our create, the forge's "already exists" answer is handled as find-and-update.
    """
    found = forge.find_open_pr(head, base)
    if found is None:
        try:
            return forge.create_pr(head, base, title, body, labels, draft), "created"
        except PullRequestExists as exc:
            logger.info("%s -> %s: pull request opened by another writer; updating it", head, base)
            found = forge.find_open_pr(head, base)
            if found is None:
                raise ForgeError(
                    f"{head} -> {base}: the forge says a pull request exists but lists none"
                    " open; retry later",
                    transient=True,
                ) from exc
    if found.title == title and _same_text(found.body, body):
        return found, "unchanged"
    return forge.update_pr(found, title, body), "updated"


class EnsurePr:
    """Gives a forge class ``ensure_pr``, built from its own find, create and update."""

    def ensure_pr(
        self,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> tuple[PullRequest, EnsureAction]:
        """Open or update the one pull request from ``head`` into ``base``."""
        return ensure_pr(cast(ForgeOperations, self), head, base, title, body, labels, draft)


def _same_text(a: str, b: str) -> bool:
    """Equal up to line endings and surrounding blanks, which forges may rewrite."""
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()
