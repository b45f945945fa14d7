"""One reconcile of one source: fetch, scan, list tags, plan, write.

The adapters (registry client, Git repository; see adapters.py) are passed in, so
tests and the daemon choose them. Tags are listed once per cycle (the catalog) and
reused when a lost push race makes us plan again on a new tip.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from automator.adapters import open_repo, registry_client, signer
from automator.catalog import RegistryCatalog
from automator.config import Config, Source
from automator.errors import AutomatorError, Cancelled
from automator.forges import Forge
from automator.git import (
    GitRepo,
    Identity,
    NewCommit,
    Snapshot,
    render_message,
)
from automator.manifests import ScanResult, is_manifest_path, scan_files
from automator.model import Plan, Skip
from automator.plan import build_plan
from automator.pullrequests import GroupResult, forge_from_config, write_pull_requests
from automator.registry import RegistryClient

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 << 20  # a larger YAML file is reported and never read


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one reconcile of one source did."""

    source: str
    plan: Plan
    commit: str | None = None
    snapshot: Snapshot | None = None
    images: frozenset[str] = frozenset()  # canonical names of every image the scan found
    pull_requests: tuple[GroupResult, ...] = ()


def scan_source(snapshot: Snapshot, source: Source) -> ScanResult:
    """Every Site under ``source.paths``; only manifest files within the size limit are read."""
    files = snapshot.walk(source.paths, accept=is_manifest_path, max_bytes=MAX_FILE_BYTES)
    return scan_files(files, max_bytes=MAX_FILE_BYTES)


class Reconciler:
    """Plans and writes one source; ``dry_run`` plans without writing."""

    def __init__(
        self,
        config: Config,
        registry: RegistryClient,
        repo: GitRepo,
        catalog: RegistryCatalog | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.repo = repo
        # shared by the sources of one cycle, so each repository is listed once
        self.catalog = catalog if catalog is not None else RegistryCatalog(registry)
        self.images: frozenset[str] = frozenset()
        self.signer = signer(config)
        self.forge: Forge | None = None

    def plan(self, snapshot: Snapshot, source: Source) -> Plan:
        """Scan ``snapshot`` and decide the changes; tags are listed once and reused."""
        scan = scan_source(snapshot, source)
        self.catalog.prefetch(s.image for s in scan.sites)
        self.images = frozenset(s.image.canonical_name for s in scan.sites)
        skipped = [Skip(path, reason) for path, reason in snapshot.skipped]
        skipped += scan.skipped
        return build_plan(scan.sites, self.catalog, snapshot.read, skipped=skipped)

    def run(
        self, source: Source, *, dry_run: bool = False, cancel: threading.Event | None = None
    ) -> Outcome:
        """Reconcile ``source``; once ``cancel`` is set no write starts (raises Cancelled)."""
        if dry_run:
            snapshot = self.repo.fetch()
            plan = self.plan(snapshot, source)
            return Outcome(source.name, plan, snapshot=snapshot, images=self.images)
        if self.config.write.mode == "pull-request":
            return self._pull_requests(source, cancel)
        last: list[Plan] = []

        def render(snapshot: Snapshot) -> NewCommit | None:
            plan = self.plan(snapshot, source)
            last[:] = [plan]
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{source.name}: stopping; the write was not started")
            if plan.empty:
                return None
            commit = self.config.write.commit
            message = render_message(plan.changes, commit.message_template, commit.skip_ci)
            return NewCommit(plan.files, message)

        commit = self.config.write.commit
        result = self.repo.write(
            render,
            author=Identity.parse(commit.author),
            committer=Identity.parse(commit.committer) if commit.committer else None,
            sign=self.signer,
        )
        return Outcome(source.name, last[0], commit=result.commit, images=self.images)

    def _pull_requests(self, source: Source, cancel: threading.Event | None) -> Outcome:
        if self.forge is None:
            self.forge = forge_from_config(self.config)
        snapshot = self.repo.fetch()
        plan = self.plan(snapshot, source)
        results = write_pull_requests(self, source, self.forge, plan, cancel=cancel)
        return Outcome(source.name, plan, images=self.images, pull_requests=tuple(results))


def reconcile_all(
    config: Config,
    state_dir: Path,
    *,
    dry_run: bool = False,
    report: Callable[[Outcome], None] | None = None,
    registry: RegistryClient | None = None,
) -> tuple[list[Outcome], list[tuple[str, AutomatorError]]]:
    """Reconcile every source; one failing source never stops the others."""
    if registry is None:
        registry = registry_client(config, state_dir)
    catalog = RegistryCatalog(registry)
    outcomes: list[Outcome] = []
    failures: list[tuple[str, AutomatorError]] = []
    for index, source in enumerate(config.sources):
        try:
            repo = open_repo(source, state_dir, index)
            outcome = Reconciler(config, registry, repo, catalog).run(source, dry_run=dry_run)
        except AutomatorError as exc:
            failures.append((source.name, exc))
            continue
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
    return outcomes, failures
