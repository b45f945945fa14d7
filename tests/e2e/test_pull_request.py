"""Write mode pull-request, end to end: real registry, real Git remote, a fake GitHub
whose every request and response is checked against GitHub's OpenAPI description."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.fakeforge import FakeForge
from testing.forgespec import OpenApiCheck, load
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import DEPLOYMENT, ROOT, automator, commits

TOKEN = "ghp-e2e-secret-token"
LABELS = {
    "org.opencontainers.image.source": "https://github.com/acme/api",
    "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
}


def branches(remote: Path) -> list[str]:
    out = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=remote)
    return out.split()


@pytest.fixture
def setup(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> Iterator[dict[str, object]]:
    repo = f"acme/api-{uuid.uuid4().hex[:8]}"
    pusher.tag(repo, ["1.4.2", "1.4.3"], labels=LABELS)
    image = f"{registry.host}/{repo}"
    remote = make_bare_repo(
        git_daemon.base / "fleet.git", {"apps/api.yaml": DEPLOYMENT.format(image=image)}
    )
    spec = load("github-pr-slice.json")
    check = OpenApiCheck(spec, "https://api.github.com", strip="/api/v3")
    with FakeForge(
        "github", token=TOKEN, repository="acme/fleet", branches=lambda: branches(remote),
        check=check, examples=spec["components"]["examples"],
    ) as fake:  # fmt: skip
        config = tmp_path / "automator.yaml"
        config.write_text(
            f"""\
sources:
  - name: fleet
    url: {git_daemon.url("fleet.git")}
    branch: main
    paths: [apps]
write:
  mode: pull-request
  group: image
  forge:
    kind: github
    api_url: {fake.url}/api/v3
    repository: acme/fleet
    token_env: E2E_GITHUB_TOKEN
    labels: [dependencies]
registries:
  - host: {registry.host}
    insecure: true
state_dir: {tmp_path / "state"}
"""
        )
        yield {"remote": remote, "config": config, "image": image, "fake": fake, "repo": repo}
        assert fake.problems == [], "traffic GitHub's API description rejects"


def run(config: object, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("E2E_GITHUB_TOKEN", TOKEN)
    result = automator("run", "--once", "--config", str(config), cwd=tmp)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stderr + result.stdout
    return result.stderr


def test_new_tag_opens_then_updates_then_closes_one_pr(
    setup: dict[str, object], tmp_path: Path, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, image, fake = (setup[k] for k in ("remote", "config", "image", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    base = commits(remote)

    log = run(config, tmp_path, monkeypatch)
    assert "pull request created" in log
    branch = [b for b in branches(remote) if b.startswith("automator/")]
    assert len(branch) == 1 and branch[0].startswith("automator/image/")
    assert commits(remote) == base, "the base branch is never written in this mode"
    assert git("rev-parse", f"{branch[0]}~1", cwd=remote).strip() == base[0]
    diff = git("diff", "--unified=0", f"main..{branch[0]}", cwd=remote)
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert changed == [
        f"-          image: {image}:1.4.2 # pinned by automator",
        f"+          image: {image}:1.4.3 # pinned by automator",
    ]
    [pr] = fake.open_prs()
    assert pr.head == branch[0] and pr.base == "main"
    assert pr.title == f"Update {image} to 1.4.3"
    assert "<!-- automator:group=image/" in pr.body and "semver:~1.4" in pr.body
    assert pr.labels == ["dependencies"]
    # links from the image's OCI labels, read from its config blob
    assert "[source](https://github.com/acme/api)" in pr.body
    assert "[commit 0123456](https://github.com/acme/api/commit/0123456789abcdef" in pr.body
    assert "[release notes](https://github.com/acme/api/releases/tag/1.4.3)" in pr.body

    # a newer tag updates the same pull request in place
    pusher.tag(str(setup["repo"]), ["1.4.4"])
    log = run(config, tmp_path, monkeypatch)
    assert "pull request updated" in log
    [again] = fake.open_prs()
    assert again.number == pr.number and again.title == f"Update {image} to 1.4.4"
    assert git("rev-parse", f"{branch[0]}~1", cwd=remote).strip() == base[0]

    # nothing new: the same pull request, untouched
    log = run(config, tmp_path, monkeypatch)
    assert "pull request unchanged" in log
    assert len(fake.prs) == 1

    # the update lands on main by another route: the PR is closed, the branch deleted
    work = tmp_path / "human"
    git("clone", "-q", str(remote), str(work))
    git("merge", "-q", "--ff-only", f"origin/{branch[0]}", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    log = run(config, tmp_path, monkeypatch)
    assert "pull request closed" in log
    assert fake.open_prs() == []
    assert [b for b in branches(remote) if b.startswith("automator/")] == []


def test_two_processes_racing_open_one_pull_request(
    setup: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, config, fake = (setup[k] for k in ("remote", "config", "fake"))
    assert isinstance(remote, Path) and isinstance(fake, FakeForge)
    monkeypatch.setenv("E2E_GITHUB_TOKEN", TOKEN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert isinstance(config, Path)
    racers = []
    for n in range(2):
        # each process keeps its own bare clone, as two replicas would
        own = tmp_path / f"racer{n}.yaml"
        own.write_text(config.read_text().replace("/state", f"/state{n}"))
        command = [sys.executable, "-m", "automator", "run", "--once", "--config", str(own)]
        racers.append(
            subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        )
    for proc in racers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert len(fake.open_prs()) == 1
    assert len(fake.prs) == 1
    branch = [b for b in branches(remote) if b.startswith("automator/")]
    assert len(branch) == 1
    assert git("rev-list", "--count", f"main..{branch[0]}", cwd=remote).strip() == "1"
