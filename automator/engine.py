"""One reconcile of one source: fetch, scan, list tags, plan, write.

The adapters (registry client, Git repository) are passed in, so tests and the
daemon choose the real or fake ones. Tags are listed once per reconcile and
reused when a lost push race makes us plan again on a new tip.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from automator.config import Config, Source
from automator.errors import AutomatorError
from automator.gitrepo import GitRepo, Identity, NewCommit, Snapshot
from automator.manifests import is_manifest_path, scan_files
from automator.model import Plan, Skip
from automator.plan import TagsResult, build_plan
from automator.registry import RegistryClient, RegistrySettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one reconcile of one source did."""

    source: str
    plan: Plan
    commit: str | None = None
    snapshot: Snapshot | None = None
    images: frozenset[str] = frozenset()  # canonical names of every image the scan found


class Cancelled(AutomatorError):
    """A stop was asked for before the write began; nothing was written."""

    transient = True


def registry_client(config: Config, *, session: requests.Session | None = None) -> RegistryClient:
    return RegistryClient(
        [RegistrySettings(host=r.host, insecure=r.insecure) for r in config.registries],
        session=session,
    )


def open_repo(source: Source, state_dir: Path) -> GitRepo:
    return GitRepo(source.url, source.branch, state_dir / "git")


class Reconciler:
    """Plans and writes one source; ``dry_run`` plans without writing."""

    def __init__(
        self,
        config: Config,
        registry: RegistryClient,
        repo: GitRepo,
        tags: dict[str, TagsResult] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.repo = repo
        self._tags = {} if tags is None else tags  # shared by the sources of one cycle
        self.images: frozenset[str] = frozenset()

    def plan(self, snapshot: Snapshot, source: Source) -> Plan:
        """Scan ``snapshot`` and decide the changes; tags are listed once and reused."""
        files = [(p, d) for p, d in snapshot.walk(source.paths) if is_manifest_path(p)]
        scan = scan_files(files)
        missing = {s.image.canonical_name: s.image for s in scan.sites}
        missing = {k: v for k, v in missing.items() if k not in self._tags}
        if missing:
            self._tags.update(self.registry.list_tags_many(missing.values()))
        self.images = frozenset(s.image.canonical_name for s in scan.sites)
        skipped = [Skip(path, reason) for path, reason in snapshot.skipped]
        skipped += scan.skipped
        return build_plan(scan.sites, self._tags, snapshot.read, skipped=skipped)

    def run(
        self, source: Source, *, dry_run: bool = False, cancel: threading.Event | None = None
    ) -> Outcome:
        """Reconcile ``source``; once ``cancel`` is set no write starts (raises Cancelled)."""
        if dry_run:
            snapshot = self.repo.fetch()
            plan = self.plan(snapshot, source)
            return Outcome(source.name, plan, snapshot=snapshot, images=self.images)
        last: list[Plan] = []

        def render(snapshot: Snapshot) -> NewCommit | None:
            plan = self.plan(snapshot, source)
            last[:] = [plan]
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{source.name}: stopping; the write was not started")
            if plan.empty:
                return None
            return NewCommit(plan.files, commit_message(plan))

        author = Identity.parse(self.config.write.commit.author)
        result = self.repo.write(render, author=author)
        return Outcome(source.name, last[0], commit=result.commit, images=self.images)


def commit_message(plan: Plan) -> str:
    """A subject that reads well in ``git log``, and one line per change."""
    images = sorted({(c.image.name, c.image.tag or c.image.digest or "") for c in plan.changes})
    if len(images) == 1:
        subject = f"Update {images[0][0]} to {images[0][1]}"
    else:
        subject = f"Update {len(images)} images"
    body = "\n".join(f"- {c.describe()}" for c in plan.changes)
    return f"{subject}\n\n{body}\n"


def reconcile_all(
    config: Config,
    state_dir: Path,
    *,
    dry_run: bool = False,
    report: Callable[[Outcome], None] | None = None,
    registry: RegistryClient | None = None,
) -> tuple[list[Outcome], list[tuple[str, AutomatorError]]]:
    """Reconcile every source; one failing source never stops the others."""
    registry = registry_client(config) if registry is None else registry
    tags: dict[str, TagsResult] = {}
    outcomes: list[Outcome] = []
    failures: list[tuple[str, AutomatorError]] = []
    for source in config.sources:
        try:
            outcome = Reconciler(config, registry, open_repo(source, state_dir), tags).run(
                source, dry_run=dry_run
            )
        except AutomatorError as exc:
            failures.append((source.name, exc))
            continue
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
    return outcomes, failures
