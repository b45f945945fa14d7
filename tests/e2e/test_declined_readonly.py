"""``plan`` and ``check`` see what people declined too, read-only: the same closed pull
requests ``run`` reads (see test_declined), and not one write to the forge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.fakeforge import FakeForge
from tests.e2e import test_pull_request as pulls
from tests.e2e.test_skeleton import automator

setup = pulls.setup
run = pulls.run


def declined_setup(setup: dict[str, object], tmp: Path, mp: pytest.MonkeyPatch) -> FakeForge:
    """One pull request opened by ``run``, then closed unmerged by a person."""
    fake = setup["fake"]
    assert isinstance(fake, FakeForge)
    run(setup["config"], tmp, mp)
    [pr] = fake.open_prs()
    pr.state = "closed"
    return fake


def test_plan_and_check_show_declined_versions_read_only(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = declined_setup(setup, tmp_path, monkeypatch)
    config, image = str(setup["config"]), setup["image"]
    writes = [c for c in fake.log if c[0] != "GET"]
    reason = (
        f"{image}:1.4.3 declined: pull request #1 (https://github.com/acme/fleet/pull/1) was"
        " closed unmerged; reopen it, or delete branch"
    )

    planned = automator("plan", "--config", config, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert reason in planned.stderr and planned.stdout == "", "nothing to apply"
    document = json.loads(automator("plan", "--output", "json", "--config", config,
                                    cwd=tmp_path).stdout)  # fmt: skip
    [site] = document["sources"][0]["sites"]
    assert site["status"] == "skipped" and site["hold"]["kind"] == "declined"

    checked = automator("check", "--config", config, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert f"fleet: {reason}" in checked.stdout
    assert [c for c in fake.log if c[0] != "GET"] == writes, "plan and check wrote nothing"
    assert pulls.TOKEN not in planned.stderr + checked.stdout + checked.stderr


def test_without_a_forge_token_they_say_declined_prs_were_not_consulted(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declined_setup(setup, tmp_path, monkeypatch)
    monkeypatch.delenv("E2E_GITHUB_TOKEN")
    config = str(setup["config"])
    planned = automator("plan", "--config", config, cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert "declined pull requests were not consulted" in planned.stderr
    assert "E2E_GITHUB_TOKEN" in planned.stderr, "says which setting to fix"
    checked = automator("check", "--config", config, cwd=tmp_path)
    assert "fleet: declined pull requests were not consulted" in checked.stdout
