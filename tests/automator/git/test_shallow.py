"""Shallow bare clones: fewer objects, the same pushes, the same history answers.

A history is built with ``git fast-import`` (2,100 old commits, then the commits the
history readers care about) and served by the real git daemon (and nginx and sshd for
the pushes). Rollback holds and promotion soaks read from a complete clone, from one
of the default depth and from one so shallow that the walks reach its boundary (it is
deepened on demand) must be the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2
import pytest

from automator.git import GitAuth, GitRepo, NewCommit, Snapshot
from automator.git.history import MAX_WALK, SHALLOW_DEPTH, file_history, files_written_by
from automator.manifests import scan_files
from automator.model import Site
from automator.promotion import promotions
from automator.rollbacks import rollback_holds
from automator.secrets import Secret
from testing import githttp
from testing.githttp import GitHttp
from testing.gitserver import GitDaemon, git
from testing.sshd import Sshd
from tests.automator.git.test_write import BOT

BOT_EMAIL = "automator@example.test"
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    automator.dev/policy.app: "{policy}"
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/api:{tag}
"""
STAGING = WORKLOAD.replace("{name}", "staging").replace("{policy}", "semver:^1")
PROD = WORKLOAD.format(
    name="prod", policy="semver:^1;promote-from=staging/api.yaml;after=24h", tag="1.4.2"
)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OLD = MAX_WALK + 100  # commits older than what any history reader looks at
PADDING = 12  # unrelated commits after the interesting ones


def fast_import(bare: Path, commits: list[tuple[str, datetime, str, dict[str, str]]]) -> None:
    """Commits (author, date, message, files changed) on ``main`` of ``bare``, oldest first."""
    lines: list[bytes] = []
    for mark, (author, when, message, files) in enumerate(commits, start=1):
        stamp = f"{int(when.timestamp())} +0000"
        lines += [b"commit refs/heads/main", f"mark :{mark}".encode()]
        lines += [f"author {author} {stamp}".encode(), f"committer {author} {stamp}".encode()]
        text = message.encode()
        lines += [f"data {len(text)}".encode(), text]
        if mark > 1:
            lines.append(f"from :{mark - 1}".encode())
        for path, content in files.items():
            data = content.encode()
            lines += [f"M 100644 inline {path}".encode(), f"data {len(data)}".encode(), data]
        lines.append(b"")
    git("fast-import", "--quiet", cwd=bare, input=b"\n".join(lines) + b"\n")


@pytest.fixture
def history(git_daemon: GitDaemon) -> str:
    """``hist.git``: OLD old commits, a rollback of automator's version and a promotion."""
    bare = git_daemon.base / "hist.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    git("config", "http.receivepack", "true", cwd=bare)
    alice, bot = "Alice <alice@example.test>", f"automator <{BOT_EMAIL}>"
    commits = [
        (alice, T0 - timedelta(days=30), f"old {n}", {"old.txt": f"{n}\n"}) for n in range(OLD)
    ]
    staging = {"staging/api.yaml": STAGING.format(tag="1.4.2"), "prod/api.yaml": PROD}
    trailer = "\n\nAutomator-Update: staging/api.yaml ghcr.io/acme/api:1.5.0"
    commits += [
        (alice, T0, "staging and prod", staging),
        (bot, T0 + timedelta(hours=1), "api 1.5.0" + trailer, {
            "staging/api.yaml": STAGING.format(tag="1.5.0")}),
        (alice, T0 + timedelta(hours=2), "back to 1.4.2", {
            "staging/api.yaml": STAGING.format(tag="1.4.2")}),
        (alice, T0 + timedelta(hours=3), "1.4.3 by hand", {
            "prod/api.yaml": PROD.replace("1.4.2", "1.4.3")}),
    ]  # fmt: skip
    commits += [
        (alice, T0 + timedelta(hours=4 + n), f"readme {n}", {"README": f"readme {n}\n"})
        for n in range(PADDING)
    ]
    fast_import(bare, commits)
    return git_daemon.url("hist.git")


def answers(snapshot: Snapshot) -> tuple[object, ...]:
    """What every history reader says of ``snapshot``."""
    files = [(p, snapshot.read(p)) for p in ("staging/api.yaml", "prod/api.yaml")]
    sites: tuple[Site, ...] = scan_files(files).sites
    held = rollback_holds(snapshot, sites, author_email=BOT_EMAIL)
    promoted = promotions(snapshot, held, now=T0 + timedelta(days=1))
    versions = [v.commit for v in file_history(snapshot, "old.txt", limit=3)]
    return (
        tuple((s.file, s.hold, s.promotion) for s in promoted),
        files_written_by(snapshot, BOT_EMAIL),
        versions,
    )


def objects(repo: GitRepo) -> int:
    return sum(1 for _ in pygit2.Repository(str(repo.path)).odb)


def test_the_default_depth_stores_fewer_objects_and_answers_the_same(
    history: str, tmp_path: Path
) -> None:
    full = GitRepo(history, "main", tmp_path / "full")
    shallow = GitRepo(history, "main", tmp_path / "shallow", depth=SHALLOW_DEPTH)
    expected = answers(full.fetch())
    held = expected[0]
    assert isinstance(held, tuple) and held[0][1] is not None  # staging: rolled back, held
    assert held[1][2] is not None and held[1][2].commit  # prod: a promotion with a commit
    assert answers(shallow.fetch()) == expected
    assert (shallow.path / "shallow").exists()  # the walks needed nothing past the boundary
    # OLD + 4 + PADDING commits: the shallow clone lacks the oldest ones, 3 objects each
    assert objects(full) - objects(shallow) == 3 * (OLD + 4 + PADDING - SHALLOW_DEPTH)
    assert answers(shallow.fetch()) == expected  # a later fetch keeps it as deep
    assert (shallow.path / "shallow").exists()


def test_a_walk_that_reaches_the_boundary_deepens_the_clone(history: str, tmp_path: Path) -> None:
    expected = answers(GitRepo(history, "main", tmp_path / "full").fetch())
    shallow = GitRepo(history, "main", tmp_path / "shallow", depth=3)
    snapshot = shallow.fetch()
    assert snapshot.repo.is_shallow
    assert answers(snapshot) == expected
    assert not snapshot.repo.is_shallow and not (shallow.path / "shallow").exists()
    again = shallow.fetch()  # complete from then on: no depth is asked for again
    assert not again.repo.is_shallow and answers(again) == expected


def test_turning_shallow_off_completes_a_shallow_clone(history: str, tmp_path: Path) -> None:
    GitRepo(history, "main", tmp_path / "c", depth=3).fetch()
    snapshot = GitRepo(history, "main", tmp_path / "c").fetch()
    assert not snapshot.repo.is_shallow


@pytest.fixture(params=["git", "http", "ssh"])
def remote(
    request: pytest.FixtureRequest, history: str, tmp_path: Path
) -> tuple[str, GitAuth | None]:
    if request.param == "git":
        return history, None
    server: GitHttp | Sshd = request.getfixturevalue(
        "git_http" if request.param == "http" else "sshd"
    )
    if isinstance(server, GitHttp):
        return server.url("hist.git"), GitAuth.token(
            Secret(githttp.PASSWORD), username=githttp.USER
        )
    return server.url("hist.git"), GitAuth(
        ssh_key_file=server.client_key, known_hosts_file=server.known_hosts
    )


def test_shallow_clones_push_and_push_branches(
    remote: tuple[str, GitAuth | None], git_daemon: GitDaemon, tmp_path: Path
) -> None:
    url, auth = remote
    bare = git_daemon.base / "hist.git"
    repo = GitRepo(url, "main", tmp_path / "cache", auth=auth, depth=3)
    seen: list[frozenset[str]] = []

    def render(snapshot: Snapshot) -> NewCommit | None:
        seen.append(files_written_by(snapshot, BOT_EMAIL))  # deepens inside the write
        return NewCommit({"README": "pushed from a shallow clone\n"}, "readme")

    pushed = repo.write(render, author=BOT)
    assert pushed.pushed and seen == [frozenset({"staging/api.yaml"})]
    branch = repo.write(bump_staging, author=BOT, push_branch="automator/api", force=True)
    assert branch.pushed
    git("fsck", "--strict", cwd=bare)
    assert git("rev-parse", "main", cwd=bare).strip() == pushed.commit
    assert git("rev-parse", "automator/api~1", cwd=bare).strip() == pushed.commit
    fresh = GitRepo(url, "main", tmp_path / "other", auth=auth, depth=1)
    again = fresh.write(render, author=BOT)
    assert again.commit is None  # the tip already holds it


def bump_staging(snapshot: Snapshot) -> NewCommit:
    text = snapshot.read("staging/api.yaml").replace(b"1.4.2", b"1.5.1")
    return NewCommit({"staging/api.yaml": text}, "api 1.5.1")
