"""Pull requests on GitHub, GitLab and Gitea/Forgejo behind one small interface.

``make_forge`` builds a ``Forge`` for one repository; ``Forge.ensure_pr`` opens or
updates the group's pull request idempotently; ``decide_pr_action`` and ``sync_pr``
say and do what the plan needs (open, update, close); ``render_pr``,
``group_changes`` and ``branch_name`` give a group its content and its branch.
The Git side (pushing the branch, deleting it after a close) is not done here.
"""

from __future__ import annotations

from automator.errors import ConfigError, ForgeError
from automator.forges.base import EnsureAction, Forge, PullRequest, PullRequestExists, ensure_pr
from automator.forges.content import group_of, marker, render_pr
from automator.forges.gitea import Gitea
from automator.forges.github import GitHub
from automator.forges.gitlab import GitLab
from automator.forges.grouping import GroupBy, branch_name, group_changes, group_key
from automator.forges.issues import Issue, Issues
from automator.forges.lifecycle import PrAction, PrOutcome, decide_pr_action, sync_pr
from automator.http import Http
from automator.secrets import Secret

KINDS = ("github", "gitlab", "gitea", "forgejo")

__all__ = [
    "KINDS",
    "EnsureAction",
    "Forge",
    "GitHub",
    "GitLab",
    "Gitea",
    "GroupBy",
    "Issue",
    "Issues",
    "PrAction",
    "PrOutcome",
    "PullRequest",
    "PullRequestExists",
    "branch_name",
    "decide_pr_action",
    "ensure_pr",
    "group_changes",
    "group_key",
    "group_of",
    "issues_of",
    "make_forge",
    "marker",
    "render_pr",
    "sync_pr",
]


def make_forge(
    kind: str,
    *,
    api_url: str,
    repository: str,
    token: Secret,
    http: Http | None = None,
    max_wait_s: float = 60,
) -> Forge:
    """The forge of ``kind`` for ``repository`` (OWNER/NAME; GitLab also an id or a path).

    ``api_url`` is the API root or the server's address: ``https://api.github.com``,
    ``https://ghe.example.com`` (``/api/v3`` is added), ``https://gitlab.example.com``
    (``/api/v4`` added), ``https://codeberg.org`` (``/api/v1`` added). ``http`` sends
    the requests (default: the edge counted as ``client="forge"``).
    """
    if kind not in KINDS:
        raise ConfigError(
            f"write.forge.kind: unknown forge {kind!r}; use one of {', '.join(KINDS)}"
        )
    where = {"api_url": api_url, "repository": repository}
    if kind == "github":
        return GitHub(**where, token=token, http=http, max_wait_s=max_wait_s)
    if kind == "gitlab":
        return GitLab(**where, token=token, http=http, max_wait_s=max_wait_s)
    forgejo = kind == "forgejo"
    return Gitea(**where, token=token, http=http, max_wait_s=max_wait_s, forgejo=forgejo)


def issues_of(forge: Forge) -> Issues:
    """The issues of ``forge``'s repository: every forge ``make_forge`` builds has them."""
    if not isinstance(forge, (GitHub, GitLab, Gitea)):
        raise ForgeError(f"{forge!r} has no issues; use a forge from make_forge")
    return forge
