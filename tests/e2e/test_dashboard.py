"""The status issue (dashboard), end to end: real registry, real git daemon, a fake GitHub
checked against GitHub's OpenAPI description (see test_pull_request). Requests are
counted: one issue is ever created, and it is edited only when its text changes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from automator.forges.dashboard import escape
from testing.fakeforge import FakeForge
from testing.fakeissues import FakeIssue
from testing.gitserver import GIT_ENV, git
from testing.registry import Pusher
from tests.e2e import test_pull_request as pulls
from tests.e2e.test_skeleton import ROOT, automator

setup = pulls.setup
REF = "refs/automator/dashboard/fleet"
MARKER = "<!-- automator:dashboard source=fleet -->"


def with_dashboard(config: object, tmp: Path, n: int) -> Path:
    """The setup's config with the dashboard on and a state directory of replica ``n``."""
    assert isinstance(config, Path)
    own = tmp / f"replica{n}.yaml"
    text = config.read_text().replace("/state", f"/state-replica{n}")
    own.write_text(text.replace("  group: image\n", "  group: image\n  dashboard: true\n"))
    return own


def run(config: Path, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return pulls.run(config, tmp, monkeypatch)


def race(configs: list[Path], tmp: Path) -> None:
    """``run --once`` of every config at the same time, as replicas would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "E2E_GITHUB_TOKEN": pulls.TOKEN}
    command = [sys.executable, "-m", "automator", "run", "--once", "--config"]
    racers = [
        subprocess.Popen([*command, str(c)], cwd=tmp, env=env, stderr=subprocess.PIPE, text=True)
        for c in configs
    ]
    for proc in racers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def recorded(remote: Path) -> str:
    return git("log", "-1", "--format=%B", REF, cwd=remote)


def test_two_replicas_racing_create_one_dashboard_then_edit_it_in_place(
    setup: dict[str, object], tmp_path: Path, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, image, fake = (setup[k] for k in ("remote", "config", "image", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    replicas = [with_dashboard(config, tmp_path, n) for n in range(2)]
    fake.hold_issue_lists(2)  # both look for the dashboard before either creates it
    race(replicas, tmp_path)

    assert fake.calls("POST", "/issues") == 1 and fake.calls("PATCH", "/issues/1001") == 0
    [issue] = fake.issues
    assert issue.title == "automator dashboard: fleet" and issue.body.startswith(MARKER)
    [pr] = fake.open_prs()
    assert f"{escape(str(image))} 1\\.4\\.2 → 1\\.4\\.3" in issue.body
    assert f"([pull request](https://github.com/acme/fleet/pull/{pr.number}))" in issue.body
    assert "Automator-Dashboard-Issue: 1001" in recorded(remote)

    # the next cycles find it by the ref: no listing, no creation, no edit (same text)
    lists = fake.calls("GET", "/issues")
    race(replicas, tmp_path)
    assert fake.calls("POST", "/issues") == 1 and fake.calls("PATCH", "/issues/1001") == 0
    assert fake.calls("GET", "/issues") == lists and len(fake.issues) == 1

    # a newer tag changes the text: one edit by whichever replica runs first
    pusher.tag(str(setup["repo"]), ["1.4.4"])
    log = run(replicas[0], tmp_path, monkeypatch)
    assert "dashboard" in log and fake.calls("PATCH", "/issues/1001") == 1
    assert "1\\.4\\.4" in issue.body
    run(replicas[1], tmp_path, monkeypatch)
    assert fake.calls("PATCH", "/issues/1001") == 1 and fake.calls("POST", "/issues") == 1


def test_a_closed_dashboard_stays_closed_until_reopened(
    setup: dict[str, object], tmp_path: Path, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, fake = setup["config"], setup["fake"]
    assert isinstance(fake, FakeForge)
    replica = with_dashboard(config, tmp_path, 0)
    run(replica, tmp_path, monkeypatch)
    [issue] = fake.issues
    issue.state = "closed"  # a person closes it
    pusher.tag(str(setup["repo"]), ["1.4.4"])
    log = run(replica, tmp_path, monkeypatch)
    assert "closed by a person; left closed" in log
    assert fake.calls("POST", "/issues") == 1 and fake.calls("PATCH", "/issues/1001") == 0
    assert "1\\.4\\.4" not in issue.body
    issue.state = "open"  # and reopens it: updated again
    run(replica, tmp_path, monkeypatch)
    assert fake.calls("PATCH", "/issues/1001") == 1 and "1\\.4\\.4" in issue.body


def test_found_by_its_marker_without_the_ref(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard made before (or whose ref was deleted) is found on the forge, not made
    again: the record is the forge's and the repo's, never a state directory."""
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    fake.issues.append(FakeIssue(1001, "automator dashboard: fleet", f"{MARKER}\nold text"))
    run(with_dashboard(config, tmp_path, 0), tmp_path, monkeypatch)
    assert fake.calls("POST", "/issues") == 0 and fake.calls("PATCH", "/issues/1001") == 1
    assert "Automator-Dashboard-Issue: 1001" in recorded(remote)


def claim(remote: Path, age_s: int) -> None:
    """A claim by a replica that never recorded an issue, written ``age_s`` seconds ago."""
    date = f"@{int(time.time()) - age_s} +0000"
    env = {**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    tree = git("mktree", cwd=remote, input="").strip()
    commit = subprocess.run(
        ["git", "commit-tree", tree, "-m", "automator dashboard of source fleet: claim"],
        cwd=remote, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    git("update-ref", REF, commit, cwd=remote)


def test_a_fresh_claim_waits_and_a_stale_one_is_taken_over(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    replica = with_dashboard(config, tmp_path, 0)
    claim(remote, 0)  # another replica is creating it right now
    log = run(replica, tmp_path, monkeypatch)
    assert "another replica is creating the dashboard" in log
    assert fake.calls("POST", "/issues") == 0

    claim(remote, 20 * 60)  # that replica died before it created anything
    run(replica, tmp_path, monkeypatch)
    assert fake.calls("POST", "/issues") == 1 and len(fake.issues) == 1
    assert "Automator-Dashboard-Issue: 1001" in recorded(remote)


def test_push_mode_names_the_commit_then_settles(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    replica = with_dashboard(config, tmp_path, 0)
    replica.write_text(replica.read_text().replace("mode: pull-request", "mode: push"))
    run(replica, tmp_path, monkeypatch)
    [issue] = fake.issues
    head = git("rev-parse", "main", cwd=remote).strip()
    assert f"### Updated by commit {head[:12]} (1)" in issue.body and fake.prs == []
    run(replica, tmp_path, monkeypatch)  # the Site is now current: the text says so once
    assert "Updated by commit" not in issue.body and "| up to date |" in issue.body
    run(replica, tmp_path, monkeypatch)
    assert fake.calls("PATCH", "/issues/1001") == 1 and fake.calls("POST", "/issues") == 1


UPDATE_HOOK = """#!/bin/sh
case "$1" in refs/automator/dashboard/*) echo "dashboards are not kept here"; exit 1;; esac
exit 0
"""


def test_a_refused_ref_is_one_warning_and_no_issue(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook refusing the ref is no lost race: nothing can decide which replica creates
    the issue, so none does, and the log says what to change."""
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    hook = remote / "hooks" / "update"
    hook.write_text(UPDATE_HOOK)
    hook.chmod(0o755)
    replica = with_dashboard(config, tmp_path, 0)

    for _ in range(2):
        log = run(replica, tmp_path, monkeypatch)
        [warning] = [line for line in log.splitlines() if "dashboard not created" in line]
        assert f"{REF} on " in warning and "refused" in warning
        assert "allow pushes to refs/automator/*, or turn write.dashboard off" in warning
    assert fake.calls("POST", "/issues") == 0 and fake.issues == []
    assert fake.open_prs(), "the pull request itself is written as ever"
    assert REF not in git("for-each-ref", "--format=%(refname)", cwd=remote)


def test_a_failed_reconcile_is_shown_once_and_cleared_once(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remote goes away: the existing dashboard (found by its marker, since the ref
    cannot be read either) is edited once to say so; the same failure again edits
    nothing; the remote comes back and one edit removes the error."""
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    replica = with_dashboard(config, tmp_path, 0)
    run(replica, tmp_path, monkeypatch)
    [issue] = fake.issues
    assert "### Sites" in issue.body and "Errors" not in issue.body
    away = remote.with_name("fleet-away.git")
    remote.rename(away)  # the git daemon now answers: repository not found

    monkeypatch.setenv("E2E_GITHUB_TOKEN", pulls.TOKEN)
    for _ in range(2):
        result = automator("run", "--once", "--config", str(replica), cwd=tmp_path)
        assert result.returncode != 0 and "fleet" in result.stderr
        assert pulls.TOKEN not in result.stderr + result.stdout
        assert fake.calls("PATCH", "/issues/1001") == 1 and fake.calls("POST", "/issues") == 1
        [error] = [ln for ln in issue.body.splitlines() if ln.startswith("- ")]
        assert error.startswith("- the last reconcile failed: ") and "no such repository" in error
        assert "### Sites" not in issue.body  # a new process: no plan of its own to show

    away.rename(remote)
    run(replica, tmp_path, monkeypatch)
    assert fake.calls("PATCH", "/issues/1001") == 2 and fake.calls("POST", "/issues") == 1
    assert "Errors" not in issue.body and "### Sites" in issue.body
    assert len(fake.issues) == 1


def test_a_failed_reconcile_never_creates_a_dashboard(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    remote.rename(remote.with_name("fleet-away.git"))
    monkeypatch.setenv("E2E_GITHUB_TOKEN", pulls.TOKEN)
    replica = with_dashboard(config, tmp_path, 0)
    result = automator("run", "--once", "--config", str(replica), cwd=tmp_path)
    assert result.returncode != 0
    assert fake.calls("POST", "/issues") == 0 and fake.issues == []
