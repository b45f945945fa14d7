"""A source that fails holds no memory: the daemon in-process, a real registry and git daemon.

Counted, never timed: weak references to the failed reconcile's clone handles are dead
with the garbage collector off (no cycle keeps them), and the scan cache's entries and
the catalog's listings of the failed source are gone, until it succeeds again.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from automator import adapters
from automator.config import parse_config
from automator.daemon import Daemon, DaemonSettings
from automator.engine import Engine, SourceSettings
from automator.git import NewCommit, Snapshot
from automator.manifests.cache import ScanCache
from automator.write import Repository
from testing.fleet import DEPLOYMENT
from testing.gitserver import GitDaemon, make_bare_repo
from testing.registry import Pusher, Registry

BOUND = 30.0  # seconds: a generous bound on waiting for a condition, never a measurement


class Recording:
    """A source's repository that keeps weak references to every clone handle it used."""

    def __init__(self, inner: Repository, handles: list[weakref.ref[Any]]) -> None:
        self.inner, self.handles = inner, handles
        self.branch = inner.branch
        handles.append(weakref.ref(inner))

    def fetch(self) -> Snapshot:
        snapshot = self.inner.fetch()
        self.handles.append(weakref.ref(snapshot.repo))
        return snapshot

    def write(self, render: Callable[[Snapshot], NewCommit | None], **kwargs: Any) -> Any:
        def recorded(snapshot: Snapshot) -> NewCommit | None:
            self.handles.append(weakref.ref(snapshot.repo))
            return render(snapshot)

        return self.inner.write(recorded, **kwargs)

    def remote_branches(self, prefix: str = "") -> dict[str, str]:
        return self.inner.remote_branches(prefix)

    def delete_branch(self, branch: str) -> bool:
        return self.inner.delete_branch(branch)


def wait_for(check: Callable[[], bool], what: str) -> None:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < BOUND, f"{what} not within {BOUND}s"
        time.sleep(0.02)


def test_a_failing_source_lets_go_of_its_clone_scans_and_listings(
    tmp_path: Path, registry: Registry, pusher: Pusher, git_daemon: GitDaemon
) -> None:
    own, shared = (f"acme/{n}-{uuid.uuid4().hex[:6]}" for n in ("own", "shared"))
    for repo in (own, shared):
        pusher.tag(repo, ["1.4.2"])
    for name, images in (("a", (own, shared)), ("b", (shared,))):
        files = {
            f"apps/{n}.yaml": DEPLOYMENT.format(image=f"{registry.host}/{image}")
            for n, image in enumerate(images)
        }
        make_bare_repo(git_daemon.base / f"{name}.git", files)
    config = parse_config(
        {
            "sources": [
                {"name": n, "url": git_daemon.url(f"{n}.git"), "paths": ["apps"]}
                for n in ("a", "b")
            ],
            "registries": [{"host": registry.host, "insecure": True}],
        }
    )
    state = tmp_path / "state"
    cache = ScanCache()
    built = adapters.engine(config, state, max_age=3600, scan_cache=cache).adapters
    handles: dict[str, list[weakref.ref[Any]]] = {"a": [], "b": []}

    def repo(source: SourceSettings) -> Repository:
        return Recording(built.repo(source), handles[source.name])

    engine = Engine(replace(built, repo=repo))
    settings = DaemonSettings(interval=3600, listen=("127.0.0.1", 0), state_dir=state)
    daemon = Daemon(engine, settings, adapters.reporter(config))
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=daemon.run, args=(stop, ready), daemon=True)
    thread.start()
    try:
        assert ready.wait(BOUND)

        def last(name: str) -> str | None:
            [status] = [s for s in daemon.status() if s.name == name]
            return status.last.result if status.last else None

        wait_for(lambda: last("a") == "ok" and last("b") == "ok", "both reconciled")
        hosted = {f"{registry.host}/{own}", f"{registry.host}/{shared}"}
        assert engine.adapters.catalog.listed() == hosted
        assert (len(cache.scans), len(cache.files)) == (2, 3)

        clone_a = adapters.open_repo(config.sources[0], state).path
        gc.collect()  # what the successes left; from here on only reference counts free
        gc.disable()
        moved = git_daemon.base / "a.git"
        moved.rename(git_daemon.base / "a.moved")  # the remote is gone
        before = len(handles["a"])
        daemon.trigger(frozenset({f"{registry.host}/{own}"}))
        wait_for(lambda: last("a") == "failed", "a failed")
        wait_for(lambda: not daemon.running, "the worker is idle")

        failed = handles["a"][before:]
        assert failed and all(ref() is None for ref in failed)  # no cycle keeps its GitRepo
        assert mapped(clone_a) == 0  # nor its libgit2 handle's packs
        assert engine.adapters.catalog.listed() == {f"{registry.host}/{shared}"}
        assert (len(cache.scans), len(cache.files)) == (1, 1)  # b's scan and its one file

        (git_daemon.base / "a.moved").rename(moved)
        daemon.trigger(frozenset({f"{registry.host}/{own}"}))
        wait_for(lambda: last("a") == "ok", "a succeeded again")
        assert engine.adapters.catalog.listed() == hosted
        assert (len(cache.scans), len(cache.files)) == (2, 3)
    finally:
        gc.enable()
        stop.set()
        thread.join(BOUND)


def mapped(clone: Path) -> int:
    """How many of this process's memory maps are files of ``clone`` (libgit2 maps packs)."""
    return sum(str(clone) in line for line in Path("/proc/self/maps").read_text().splitlines())
