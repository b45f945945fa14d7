"""automator explain: the registry's tags and the policy's verdict on each."""

from __future__ import annotations

import uuid
from pathlib import Path

from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator


def test_explain_lists_every_tag_with_its_verdict(
    tmp_path: Path, registry: Registry, pusher: Pusher
) -> None:
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2", "1.4.3", "1.5.0", "latest", "1.4.4-rc.1", "1.4.3.sig"])
    image = f"{registry.host}/{repo}:1.4.2"
    result = automator("explain", image, "--policy", "semver:~1.4", "--insecure", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{registry.host}/{repo}: 6 tags, policy semver:~1.4"
    verdicts = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    assert verdicts["1.4.3"].startswith("selected")
    assert lines[1].split()[0] == "1.4.3", "the winner comes first"
    assert set(verdicts) == {"1.4.2", "1.4.3", "1.5.0", "latest", "1.4.4-rc.1", "1.4.3.sig"}
    assert "out-of-range" in verdicts["1.5.0"]
    assert "prerelease" in verdicts["1.4.4-rc.1"]
    assert "cosign" in verdicts["1.4.3.sig"]


def test_explain_with_nothing_selected_exits_1(
    tmp_path: Path, registry: Registry, pusher: Pusher
) -> None:
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2"])
    result = automator(
        "explain", f"{registry.host}/{repo}", "--policy", "semver:>=2", "--insecure", cwd=tmp_path
    )
    assert result.returncode == 1
    assert "no tag selected" in result.stdout


def test_explain_bad_policy_is_a_usage_error(tmp_path: Path) -> None:
    result = automator("explain", "nginx", "--policy", "semver:>>1", cwd=tmp_path)
    assert result.returncode == 2
    assert "column" in result.stderr and "--policy" in result.stderr
