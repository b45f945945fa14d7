"""One reconcile of one source: fetch, scan, resolve, plan, write.

The engine only orchestrates. It receives its adapters (``Adapters``, built from
automator.yaml by ``automator.adapters``): a Git repository per source, the
registry catalog, the signer and the forge. Each stage is a module of its own:

    fetch     automator.git          the branch tip as a Snapshot
    scan      automator.manifests    Sites under the source's paths
    resolve   automator.catalog      each repository's tags, listed once a cycle
    plan      automator.plan         a Change or a Skip for every Site
    write     automator.write        splice the files; a commit, or pull requests

Planning is memoised by commit: when a writer plans again (a lost push race, or one
pull-request group after another) on a tip already scanned, it costs nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from automator.catalog import RegistryCatalog
from automator.errors import AutomatorError, ForgeError
from automator.forges import Forge
from automator.git import Signer, Snapshot
from automator.manifests import ScanResult, is_manifest_path, scan_files
from automator.model import Plan, Skip
from automator.plan import Signatures, build_plan
from automator.write import (
    CommitSettings,
    GroupResult,
    PullRequestSettings,
    PullRequestWriter,
    PushWriter,
    Repository,
    Writer,
    splice,
)

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 << 20  # a larger YAML file is reported and never read


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """One config repo: where to read manifests and where to write back."""

    name: str
    remote: str  # the Git URL; sources with the same remote share a bare clone, so take turns
    branch: str = "main"
    paths: tuple[str, ...] = (".",)


@dataclass(frozen=True, slots=True)
class WriteSettings:
    """``write:`` in automator.yaml: the mode, the commit, the pull requests."""

    mode: str  # push | pull-request | dry-run
    commit: CommitSettings
    pulls: PullRequestSettings = field(default_factory=PullRequestSettings)


@dataclass(frozen=True, slots=True)
class Adapters:
    """Everything a reconcile talks to. Factories read their credentials when called,
    so a rotated token is picked up by the next reconcile."""

    sources: tuple[SourceSettings, ...]
    repo: Callable[[SourceSettings], Repository]
    catalog: RegistryCatalog
    write: WriteSettings
    signer: Signer | None = None
    forge: Callable[[], Forge] | None = None  # pull-request mode
    signatures: Signatures | None = None  # the gate of verify=cosign policies


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one reconcile of one source did."""

    source: str
    plan: Plan
    commit: str | None = None
    snapshot: Snapshot | None = None
    images: frozenset[str] = frozenset()  # canonical names of every image the scan found
    pull_requests: tuple[GroupResult, ...] = ()
    files_parsed: int = 0  # YAML files the scans of this reconcile parsed


def scan_source(snapshot: Snapshot, paths: Iterable[str]) -> ScanResult:
    """Every Site under ``paths``; only manifest files within the size limit are read."""
    files = snapshot.walk(list(paths), accept=is_manifest_path, max_bytes=MAX_FILE_BYTES)
    return scan_files(files, max_bytes=MAX_FILE_BYTES)


class _Planner:
    """Scan, resolve and plan one snapshot; memoised by commit for one reconcile."""

    def __init__(
        self,
        source: SourceSettings,
        catalog: RegistryCatalog,
        signatures: Signatures | None = None,
    ) -> None:
        self.source = source
        self.catalog = catalog
        self.signatures = signatures
        self.images: frozenset[str] = frozenset()
        self.files_parsed = 0
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def __call__(self, snapshot: Snapshot) -> Plan:
        with self._lock:
            plan = self._plans.get(snapshot.commit_id)
            if plan is None:
                plan = self._plans[snapshot.commit_id] = self._plan(snapshot)
            return plan

    def _plan(self, snapshot: Snapshot) -> Plan:
        scan = scan_source(snapshot, self.source.paths)
        self.files_parsed += scan.files_parsed
        self.catalog.prefetch(s.image for s in scan.sites)
        self.images = frozenset(s.image.canonical_name for s in scan.sites)
        skipped = [Skip(path, reason) for path, reason in snapshot.skipped]
        skipped += scan.skipped
        return build_plan(scan.sites, self.catalog, skipped=skipped, signatures=self.signatures)


class Engine:
    """Reconciles the sources of one automator.yaml with the adapters it was given."""

    def __init__(self, adapters: Adapters) -> None:
        self.adapters = adapters
        self._by_name = {s.name: s for s in adapters.sources}

    @property
    def sources(self) -> tuple[SourceSettings, ...]:
        return self.adapters.sources

    def forget(self, images: frozenset[str]) -> None:
        """A webhook says these repositories have new tags: list them again."""
        self.adapters.catalog.forget(images)

    def scan(self, name: str) -> ScanResult:
        """The Sites of source ``name`` at its branch tip, and everything skipped (``check``)."""
        source = self._by_name[name]
        snapshot = self.adapters.repo(source).fetch()
        scan = scan_source(snapshot, source.paths)
        skipped = tuple(Skip(path, reason) for path, reason in snapshot.skipped)
        return replace(scan, skipped=(*skipped, *scan.skipped))

    def reconcile(
        self, name: str, *, dry_run: bool = False, cancel: threading.Event | None = None
    ) -> Outcome:
        """Reconcile source ``name``; once ``cancel`` is set no write starts (Cancelled).

        With ``dry_run`` (or write mode ``dry-run``) the plan is made and spliced, and
        nothing is written.
        """
        source = self._by_name[name]
        repo = self.adapters.repo(source)
        planner = _Planner(source, self.adapters.catalog, self.adapters.signatures)
        if dry_run or self.adapters.write.mode == "dry-run":
            snapshot = repo.fetch()
            plan = splice(planner(snapshot), snapshot.read)
            return Outcome(
                name, plan, snapshot=snapshot, images=planner.images,
                files_parsed=planner.files_parsed,
            )  # fmt: skip
        written = self._writer(source, repo).write(planner, cancel=cancel)
        return Outcome(
            name,
            written.plan,
            commit=written.commit,
            images=planner.images,
            pull_requests=written.pull_requests,
            files_parsed=planner.files_parsed,
        )

    def reconcile_all(
        self, *, dry_run: bool = False, report: Callable[[Outcome], None] | None = None
    ) -> tuple[list[Outcome], list[tuple[str, AutomatorError]]]:
        """Reconcile every source in turn; one failing source never stops the others."""
        outcomes: list[Outcome] = []
        failures: list[tuple[str, AutomatorError]] = []
        for source in self.sources:
            try:
                outcome = self.reconcile(source.name, dry_run=dry_run)
            except AutomatorError as exc:
                failures.append((source.name, exc))
                continue
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
        return outcomes, failures

    def _writer(self, source: SourceSettings, repo: Repository) -> Writer:
        settings = self.adapters.write
        if settings.mode != "pull-request":
            return PushWriter(source.name, repo, settings.commit, self.adapters.signer)
        if self.adapters.forge is None:
            raise ForgeError("write.forge is not configured; add kind, repository and token_env")
        return PullRequestWriter(
            source.name,
            repo,
            self.adapters.forge(),
            settings.commit,
            settings.pulls,
            signer=self.adapters.signer,
            oci_labels=self.adapters.catalog.labels,
        )
