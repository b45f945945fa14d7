"""A rollback is a hold, end to end against a real registry and a real git daemon: a
person's commit that moves a field back from what automator wrote holds the Site,
shown in check, plan and the next commit; moving it forward resumes updates."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from testing.fakeforge import FakeForge
from testing.forgespec import OpenApiCheck, load
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e import test_pull_request as pulls
from tests.e2e.test_skeleton import automator, write_config

TOKEN = "ghp-rollback-secret-token"
FORGE = """\
  group: all
  forge:
    kind: github
    api_url: {url}/api/v3
    repository: acme/fleet
    token_env: E2E_GITHUB_TOKEN
"""

WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    automator.dev/policy.app: "semver:~1.4"
spec:
  template:
    spec:
      containers:
        - name: app
          image: {image}:1.4.2
"""


def as_person(work: Path, message: str, edit: tuple[str, str, str]) -> str:
    """Edit one file as Alice, commit and push; the new commit's id."""
    path, old, new = edit
    git("pull", "-q", "--ff-only", cwd=work)  # automator may have pushed meanwhile
    text = (work / path).read_text()
    assert old in text
    (work / path).write_text(text.replace(old, new))
    git("commit", "-qam", message, "--author", "Alice <alice@example.test>", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def test_a_rollback_holds_until_a_person_moves_forward(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    run = uuid.uuid4().hex[:8]
    api, web = (f"{registry.host}/acme/{name}-{run}" for name in ("api", "web"))
    for image in (api, web):
        pusher.tag(image.split("/", 1)[1], ["1.4.2", "1.4.3"])
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {
            "apps/api.yaml": WORKLOAD.format(name="api", image=api),
            "apps/web.yaml": WORKLOAD.format(name="web", image=web).replace("1.4.2", "1.4.3"),
        },
    )
    config = write_config(tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host)

    def once() -> str:
        result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result.stderr

    once()  # automator writes api 1.4.3
    message = git("log", "-1", "--format=%B", "main", cwd=remote)
    assert f"Automator-Update: apps/api.yaml {api}:1.4.3" in message

    work = tmp_path / "human"
    git("clone", "-q", str(remote), str(work))
    rollback = as_person(work, "1.4.3 broke checkout", ("apps/api.yaml", ":1.4.3", ":1.4.2"))
    short = rollback[:12]

    pusher.tag(api.split("/", 1)[1], ["1.4.4"])
    pusher.tag(web.split("/", 1)[1], ["1.4.4"])
    log = once()
    assert f"{api}: held at 1.4.2 by commit {short}" in log
    changed = git("diff", "--name-only", "main~1", "main", cwd=remote).split()
    assert changed == ["apps/web.yaml"], "the held Site stays; the others move on"
    message = git("log", "-1", "--format=%B", "main", cwd=remote)
    assert (
        f"Held:\n- {api}:1.4.2 in apps/api.yaml: rolled back from 1.4.3 to 1.4.2 by Alice"
        f" in commit {short}; move it forward to resume updates\n"
    ) in message

    check = automator("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    [line] = [ln for ln in check.stdout.splitlines() if "apps/api.yaml" in ln]
    assert f"HELD by commit {short}: rolled back from 1.4.3 to 1.4.2 by Alice" in line

    plan = automator("plan", "--output", "json", "--config", str(config), cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    [site] = [s for s in json.loads(plan.stdout)["sources"][0]["sites"] if s["image"] == api]
    assert site["status"] == "skipped"
    assert site["hold"]["kind"] == "rollback" and site["hold"]["by"] == f"commit {short}"

    # a fresh replica (another state dir) reads the same history: still held
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(config.read_text().replace("/state", "/state-fresh"))
    result = automator("plan", "--output", "json", "--config", str(fresh), cwd=tmp_path)
    assert json.loads(result.stdout)["summary"]["changed"] == 0

    # Alice moves it forward herself: the hold is lifted, updates resume
    as_person(work, "1.4.3 is fixed after all", ("apps/api.yaml", ":1.4.2", ":1.4.3"))
    once()
    assert f"image: {api}:1.4.4" in git("show", "main:apps/api.yaml", cwd=remote)


def test_a_pull_request_names_the_rollback_that_holds_a_site(
    tmp_path: Path,
    registry: Registry,
    pusher: Pusher,
    git_daemon: GitDaemon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = uuid.uuid4().hex[:8]
    api, web = (f"{registry.host}/acme/{name}-{run}" for name in ("api", "web"))
    for image in (api, web):
        pusher.tag(image.split("/", 1)[1], ["1.4.2", "1.4.3"])
    remote = make_bare_repo(
        git_daemon.base / "fleet.git",
        {
            "apps/api.yaml": WORKLOAD.format(name="api", image=api),
            "apps/web.yaml": WORKLOAD.format(name="web", image=web).replace("1.4.2", "1.4.3"),
        },
    )
    spec = load("github-pr-slice.json")
    check = OpenApiCheck(spec, "https://api.github.com", strip="/api/v3")
    with FakeForge(
        "github", token=TOKEN, branches=lambda: pulls.branches(remote), check=check,
        examples=spec["components"]["examples"],
    ) as fake:  # fmt: skip
        config = write_config(
            tmp_path / "automator.yaml", git_daemon.url("fleet.git"), registry.host,
            mode="pull-request",
        )  # fmt: skip
        text = config.read_text().replace("  commit:\n", FORGE.format(url=fake.url) + "  commit:\n")
        config.write_text(text)
        monkeypatch.setenv("E2E_GITHUB_TOKEN", TOKEN)
        result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        [first] = fake.open_prs()
        work = tmp_path / "human"
        git("clone", "-q", str(remote), str(work))
        git("merge", "-q", "--ff-only", f"origin/{first.head}", cwd=work)  # a person merges it
        git("push", "-q", "origin", "main", cwd=work)
        rollback = as_person(work, "1.4.3 broke checkout", ("apps/api.yaml", ":1.4.3", ":1.4.2"))

        pusher.tag(web.split("/", 1)[1], ["1.4.4"])
        result = automator("run", "--once", "--config", str(config), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        [pr] = fake.open_prs()
        assert pr.title == f"Update {web} to 1.4.4"
        assert "### Held back" in pr.body
        assert f"`{api}:1.4.2 in apps/api.yaml: rolled back from 1.4.3 to 1.4.2 by Alice" in pr.body
        assert f"in commit {rollback[:12]}; move it forward to resume updates`" in pr.body
        assert fake.problems == []
