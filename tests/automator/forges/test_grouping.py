"""Group keys, branch names and the pull request lifecycle decision."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from automator.forges import PullRequest, branch_name, decide_pr_action, group_changes
from tests.automator.forges.changes import change

PR = PullRequest(1, "https://forge/pr/1", "automator/all", "main", "t", "b", "open")


def test_group_keys() -> None:
    api = change()
    web = change("clusters/dev/web.yaml", "nginx:1.25.0", "nginx:1.25.3", workload="Deployment/web")
    values = change("apps/values.yaml", workload="", container="")
    changes = [api, web, values]
    assert group_changes(changes, "all") == {"all": changes}
    assert group_changes(changes, "image") == {
        "image/docker.io/library/nginx": [web],
        "image/ghcr.io/acme/api": [api, values],
    }
    assert list(group_changes(changes, "workload")) == [
        "workload/apps/values.yaml",
        "workload/clusters/dev/Deployment/web",
        "workload/clusters/prod/Deployment/api",
    ]
    assert list(group_changes(changes, "directory")) == [
        "directory/apps",
        "directory/clusters/dev",
        "directory/clusters/prod",
    ]
    assert list(group_changes([change("top.yaml")], "directory")) == ["directory/."]


@pytest.mark.parametrize(
    ("key", "branch"),
    [
        ("all", "automator/all"),
        ("image/ghcr.io/acme/api", "automator/image/ghcr.io/acme/api"),
        ("workload/apps/Deployment/api", "automator/workload/apps/deployment/api"),
    ],
)
def test_branch_names_keep_clean_keys(key: str, branch: str) -> None:
    assert branch_name(key) == branch


@pytest.mark.parametrize(
    "key",
    [
        "directory/.",
        "a..b",
        "x/y.lock",
        "a b:c~d^e?f*g[h\\",
        "-x//y/",
        "é/ü",
        "a/.hidden",
        "x" * 200,
    ],
)
def test_branch_names_of_awkward_keys_get_a_hash(key: str) -> None:
    name = branch_name(key)
    assert name.startswith("automator/")
    assert valid_ref(name)
    assert len(name) <= len("automator/") + 80
    assert name != branch_name(key + "!")


def valid_ref(name: str) -> bool:
    """git check-ref-format's rules for a branch name, as documented."""
    if any(c in name for c in " ~^:?*[\\\x7f") or any(ord(c) < 32 for c in name):
        return False
    parts = name.split("/")
    return (
        ".." not in name
        and "@{" not in name
        and not name.endswith((".", "/"))
        and all(p and not p.startswith(".") and not p.endswith(".lock") for p in parts)
    )


@given(st.text(max_size=120))
def test_every_key_gives_a_valid_branch(key: str) -> None:
    assert valid_ref(branch_name(key))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git: apt-get install git")
@pytest.mark.parametrize("key", ["directory/.", "a..b/c.lock", "A B/ü*", "x" * 200, "@{x}", ""])
def test_git_agrees(key: str) -> None:
    name = branch_name(key)
    assert (
        subprocess.run(
            ["git", "check-ref-format", "--branch", name], capture_output=True
        ).returncode
        == 0
    )


@pytest.mark.parametrize(
    ("open_pr", "has_changes", "action"),
    [(None, True, "open"), (PR, True, "update"), (PR, False, "close"), (None, False, "none")],
)
def test_decide_pr_action(open_pr: PullRequest | None, has_changes: bool, action: str) -> None:
    assert decide_pr_action(open_pr, has_changes) == action
