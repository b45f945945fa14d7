"""``min-age`` from when automator first saw a tag, end to end: a real registry, a real git
daemon, engines in-process on an injected clock (no sleeps), each with its own state dir.

The record lives on ``refs/automator/first-seen/<source>`` of the config repo, so a fresh
state dir reads it back, replicas agree, and a race is settled by compare-and-swap.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automator import adapters
from automator.config import Config, parse_config
from automator.engine import Engine, Outcome, SourceSettings
from automator.firstseen import FILE, FirstSeenStore
from automator.git import Identity
from automator.git.sideref import SideFile
from testing.gitserver import GitDaemon, git, make_bare_repo
from testing.registry import Pusher, Registry
from tests.e2e.test_skeleton import automator

REF = "refs/automator/first-seen/fleet"
POLICY = "semver:~1.4;min-age=24h;age-from=first-seen"
WORKLOAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    automator.dev/policy.api: "{policy}"
spec:
  template:
    spec:
      containers:
        - name: api
          image: {image}:1.4.2
"""
T0 = datetime.now(UTC).replace(microsecond=0)  # what the record says; tests never read the clock


class Clock:
    """The engine's ``now``: moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


class Fleet:
    """api 1.4.2 running, 1.4.3 and 1.5.0 in the registry; a config repo on the git daemon."""

    def __init__(self, tmp_path: Path, registry: Registry, pusher: Pusher, daemon: GitDaemon):
        self.tmp_path = tmp_path
        repo = f"acme/api-{uuid.uuid4().hex[:8]}"
        pusher.tag(repo, ["1.4.2", "1.4.3", "1.5.0"])
        self.image = f"{registry.host}/{repo}"
        files = {"apps/api.yaml": WORKLOAD.format(policy=POLICY, image=self.image)}
        self.remote = make_bare_repo(daemon.base / "fleet.git", files)
        self.config_dict = {
            "sources": [{"name": "fleet", "url": daemon.url("fleet.git"), "paths": ["apps"]}],
            "write": {"commit": {"author": "automator <automator@example.test>"}},
            "registries": [{"host": registry.host, "insecure": True}],
        }
        self.config: Config = parse_config(self.config_dict)
        self.stores: list[FirstSeenStore] = []

    def engine(
        self, state: str, clock: Clock, side: Callable[[object], object] | None = None
    ) -> Engine:
        """An engine with a state dir of its own; ``side`` wraps its record's ref (a seam)."""
        built = adapters.engine(self.config, self.tmp_path / state, now=clock).adapters
        stores = built.first_seen
        assert stores is not None

        def store(source: SourceSettings) -> FirstSeenStore:
            made = stores(source)
            if side is not None:
                made = FirstSeenStore(side(made.side), made.author)  # type: ignore[arg-type]
            self.stores.append(made)
            return made

        return Engine(replace(built, first_seen=store))

    def record(self) -> str | None:
        """The record on the remote, as people read it."""
        refs = git("for-each-ref", "--format=%(refname)", "refs/automator", cwd=self.remote)
        if REF not in refs.split():
            return None
        return git("show", f"{REF}:{FILE}", cwd=self.remote)

    def running(self) -> str:
        return git("show", "main:apps/api.yaml", cwd=self.remote).split(":")[-1].strip()


@pytest.fixture
def fleet(tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon) -> Fleet:
    return Fleet(tmp_path, registry, pusher, git_daemon)


def skip_reason(outcome: Outcome) -> str:
    [skip] = [s for s in outcome.plan.skipped if s.site is not None]
    return skip.reason


def test_a_tag_first_seen_now_waits_a_day_and_a_fresh_state_dir_remembers(fleet: Fleet) -> None:
    clock = Clock(T0)
    first = fleet.engine("state-a", clock).reconcile("fleet")

    assert first.commit is None and not first.plan.changes, "1.4.3 was first seen now"
    assert "1.4.3 waits: not recorded as seen by automator before now" in skip_reason(first)
    stamp = f"{T0:%Y-%m-%dT%H:%M:%SZ}"
    record = fleet.record()
    assert record is not None and record.splitlines()[2:] == [f"{fleet.image} 1.4.3 {stamp}"]
    assert record.startswith("# automator first-seen record")  # 1.5.0 is out of range: not kept
    heads = git("for-each-ref", "--format=%(refname)", "refs/heads", cwd=fleet.remote).split()
    assert heads == ["refs/heads/main"], "the record is no branch: nothing deploys it"

    clock.at = T0 + timedelta(hours=23)
    later = fleet.engine("state-a", clock).reconcile("fleet")
    assert later.commit is None
    assert f"1.4.3 waits: first seen {T0:%Y-%m-%dT%H:%MZ} by automator, 23 h ago" in (
        skip_reason(later)
    )
    assert fleet.record() == record, "nothing new: the ref is not rewritten"

    clock.at = T0 + timedelta(hours=25)  # a restart with an empty state dir, a day later
    moved = fleet.engine("state-fresh", clock).reconcile("fleet")
    assert moved.commit is not None and fleet.running() == "1.4.3"
    assert [c.new.rsplit(":", 1)[1] for c in moved.plan.changes] == ["1.4.3"]

    again = fleet.engine("state-fresh", clock).reconcile("fleet")
    assert again.commit is None and again.plan.empty
    assert fleet.record() is not None and fleet.record().splitlines()[2:] == [], (  # type: ignore[union-attr]
        "1.4.3 runs now and was recorded over a day ago: pruned"
    )


def test_plan_and_explain_read_the_record_and_never_write(fleet: Fleet) -> None:
    fleet.engine("state-a", Clock(T0)).reconcile("fleet")
    record = fleet.record()
    path = fleet.tmp_path / "automator.yaml"
    config = {**fleet.config_dict, "state_dir": str(fleet.tmp_path / "state-plan")}
    path.write_text(json.dumps(config))
    result = automator("plan", "--config", str(path), "--output", "json", cwd=fleet.tmp_path)

    assert result.returncode == 0, result.stderr
    [source] = json.loads(result.stdout)["sources"]
    [site] = source["sites"]
    assert site["status"] == "skipped"
    assert f"1.4.3 waits: first seen {T0:%Y-%m-%dT%H:%MZ} by automator" in site["reason"]

    args = ("explain", f"{fleet.image}:1.4.2", "--policy", POLICY, "--config", str(path))
    explained = automator(*args, cwd=fleet.tmp_path)
    assert explained.returncode == 0, explained.stderr
    assert f"\n1.4.3: first seen {T0:%Y-%m-%dT%H:%MZ} by automator, " in explained.stdout
    assert "1.5.0: first seen" not in explained.stdout, "out of range: never recorded"
    bare = automator(*args[:4], "--insecure", cwd=fleet.tmp_path).stdout
    assert "no --config: no first-seen record is read, so every tag counts as seen now" in bare
    assert "1.4.3: not yet seen by automator (too young)" in bare
    assert fleet.record() == record


def test_check_shows_when_each_waiting_tag_was_first_seen(fleet: Fleet) -> None:
    path = fleet.tmp_path / "automator.yaml"
    config = {**fleet.config_dict, "state_dir": str(fleet.tmp_path / "state-check")}
    path.write_text(json.dumps(config))
    before = automator("check", "--config", str(path), cwd=fleet.tmp_path)
    assert before.returncode == 0, before.stderr
    [note] = [ln for ln in before.stdout.splitlines() if "recorded" in ln]
    assert (
        note == "fleet: apps/api.yaml:12  no newer tag in range recorded as seen by automator yet"
    )

    fleet.engine("state-a", Clock(T0)).reconcile("fleet")
    record = fleet.record()
    result = automator("check", "--config", str(path), cwd=fleet.tmp_path)

    assert result.returncode == 0, result.stderr
    site, seen = result.stdout.splitlines()
    assert site.startswith(f"fleet: apps/api.yaml:12  {fleet.image}:1.4.2  {POLICY}")
    assert seen.startswith(f"fleet: apps/api.yaml:12  1.4.3 first seen {T0:%Y-%m-%dT%H:%MZ} by")
    ready = T0 + timedelta(hours=24)
    assert seen.endswith(f"; waits until {ready:%Y-%m-%dT%H:%MZ} (min-age 1d)")
    assert "1.5.0" not in result.stdout, "out of range: never recorded"
    assert fleet.record() == record, "check only reads"


class RacingSide:
    """A record's ref whose first write comes just after another replica's whole cycle."""

    def __init__(self, inner: object, before_write: Callable[[], object]) -> None:
        self.inner = inner
        self.where = inner.where  # type: ignore[attr-defined]
        self.before_write: Callable[[], object] | None = before_write

    def read(self) -> SideFile:
        return self.inner.read()  # type: ignore[attr-defined, no-any-return]

    def write(self, data: bytes, expected: str | None, message: str, author: Identity) -> str:
        if self.before_write is not None:
            self.before_write, run = None, self.before_write
            run()
        return self.inner.write(data, expected, message, author)  # type: ignore[attr-defined, no-any-return]


def test_two_replicas_race_and_agree_on_the_earliest_time(fleet: Fleet) -> None:
    early = Clock(T0)
    replica_a = fleet.engine("state-a", early)
    late = Clock(T0 + timedelta(minutes=10))  # replica B saw 1.4.3 ten minutes later
    replica_b = fleet.engine(
        "state-b", late, side=lambda inner: RacingSide(inner, lambda: replica_a.reconcile("fleet"))
    )

    replica_b.reconcile("fleet")  # reads no record, then A writes one, then B's write loses

    store_b, store_a = fleet.stores  # B opened its record first
    assert (store_a.rejected, store_b.rejected) == (0, 1), "B's compare-and-swap lost once"
    record = fleet.record()
    assert record is not None
    assert record.splitlines()[2:] == [f"{fleet.image} 1.4.3 {T0:%Y-%m-%dT%H:%M:%SZ}"]

    # a day after A saw it (but not after B did), both replicas move; neither rewrites the time
    early.at = late.at = T0 + timedelta(hours=24, minutes=1)
    for state, clock in (("state-b", late), ("state-a", early)):
        planned = fleet.engine(state, clock).reconcile("fleet", dry_run=True)
        assert [c.new.rsplit(":", 1)[1] for c in planned.plan.changes] == ["1.4.3"], state
    assert fleet.record() == record


UPDATE_HOOK = """#!/bin/sh
case "$1" in refs/automator/*) echo "refs/automator is read-only here"; exit 1;; esac
exit 0
"""


def test_a_refused_record_warns_once_and_unrecorded_tags_stay_too_young(
    fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    hook = fleet.remote / "hooks" / "update"
    hook.write_text(UPDATE_HOOK)
    hook.chmod(0o755)
    caplog.set_level(logging.WARNING, logger="automator.firstseen")

    for hours, state in ((0, "state-a"), (25, "state-b")):
        caplog.clear()
        outcome = fleet.engine(state, Clock(T0 + timedelta(hours=hours))).reconcile("fleet")
        assert outcome.commit is None and fleet.running() == "1.4.2"
        assert "1.4.3 waits: not recorded as seen by automator before now" in skip_reason(outcome)
        [warning] = [r.getMessage() for r in caplog.records]
        assert warning.startswith(f"first-seen record not written: {REF} on ")
        assert "refused" in warning and "\n" not in warning
    assert fleet.record() is None


def test_a_malformed_record_is_one_error_and_is_not_overwritten(
    fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    work = fleet.tmp_path / "human"
    git("init", "-q", str(work))
    (work / FILE).write_text(f"{fleet.image} 1.4.3 yesterday\n")
    git("add", FILE, cwd=work)
    git("commit", "-qm", "hand-made", cwd=work)
    git("push", "-q", str(fleet.remote), f"HEAD:{REF}", cwd=work)
    caplog.set_level(logging.WARNING, logger="automator.firstseen")

    outcome = fleet.engine("state-a", Clock(T0 + timedelta(days=9))).reconcile("fleet")

    assert outcome.commit is None and fleet.running() == "1.4.2"
    [error] = [r.getMessage() for r in caplog.records]
    assert error.startswith(f"{REF} on ") and "line 1: 'yesterday' is not a UTC time" in error
    assert f"delete the ref (git push origin :{REF})" in error
    assert fleet.record() == f"{fleet.image} 1.4.3 yesterday\n"
