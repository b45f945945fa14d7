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

A little over 300 lines: sources that follow Flux ImageUpdateAutomation objects
(``automator.follow`` reads and checks them) are orchestrated here, beside the planner
they reuse, rather than in a module that would have to reach back into this one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from automator.catalog import RegistryCatalog
from automator.errors import AutomatorError, Cancelled, ForgeError
from automator.firstseen import FirstSeenCycle, FirstSeenStore, first_seen_repositories
from automator.follow import FollowUnit, follow_units, push_refspec
from automator.forges import Forge
from automator.forges.declined import Declined
from automator.forges.grouping import BRANCH_PREFIX
from automator.git import Signer, Snapshot
from automator.manifests import (
    FluxObjects,
    ScanResult,
    find_flux_objects,
    is_manifest_path,
    scan_files,
)
from automator.manifests.cache import ScanCache, scan_tree
from automator.manifests.rules import Rule
from automator.model import Plan, Site, Skip
from automator.plan import Charts, Signatures, build_plan
from automator.promotion import promotions
from automator.rollbacks import rollback_holds
from automator.write import (
    ChartLabels,
    CommitSettings,
    Dashboard,
    GroupResult,
    PullRequestSettings,
    PullRequestWriter,
    PushWriter,
    Repository,
    Writer,
    dashboard_body,
    read_or_none,
    splice,
)
from automator.write.declined import (
    NOT_CONSULTED,
    apply_declined,
    declined_lines,
    read_declined,
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
    rules: tuple[Rule, ...] = ()  # automator.yaml's rules, in order: the first match wins
    follow: str | None = None  # "ImageUpdateAutomation": the repo's automations say the rest
    author_email: str = ""  # automator's commits: a person's rollback of one holds the Site
    dashboard: str | None = None  # the title of its status issue (dashboard); None: none


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
    scan_cache: ScanCache | None = None  # Sites by blob id across reconciles (the daemon)
    charts: Charts | None = None  # Helm chart repositories (HelmRelease versions)
    first_seen: Callable[[SourceSettings], FirstSeenStore] | None = None  # the record's ref
    now: Callable[[], datetime] = lambda: datetime.now(UTC)  # min-age and first-seen times
    min_age_from: str = "build"  # what min-age counts from when a policy does not say
    chart_labels: ChartLabels | None = None  # a chart update's links, for pull requests
    dashboard: Callable[[SourceSettings], Dashboard] | None = None  # its status issue


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


def scan_source(
    snapshot: Snapshot,
    paths: Iterable[str],
    flux: FluxObjects | None = None,
    *,
    remote: str | None = None,
    rules: Sequence[Rule] = (),
    cache: ScanCache | None = None,
) -> ScanResult:
    """Every Site under ``paths``; only manifest files within the size limit are read.

    One walk of the whole tree: Flux ImagePolicy/ImageRepository objects count wherever
    they are, Sites only under ``paths``. What lies outside ``paths`` is never reported.
    ``remote`` (the source's Git URL) tells Argo Applications of this repo from others;
    ``rules`` govern the workload containers no annotation covers. With ``cache``, only
    what changed since a scan it remembers is parsed (``automator.manifests.cache``).
    """
    read = read_or_none(snapshot.read)
    roots = [p.strip("/") for p in paths if p.strip("/") not in ("", ".")]
    if cache is not None and flux is None:
        return scan_tree(
            snapshot, roots, cache, remote=remote, rules=rules, max_bytes=MAX_FILE_BYTES,
            read=read, uncached=lambda: scan_source(snapshot, paths, remote=remote, rules=rules),
        )  # fmt: skip
    if not roots:
        files = snapshot.walk([], accept=is_manifest_path, max_bytes=MAX_FILE_BYTES)
        return scan_files(
            files, max_bytes=MAX_FILE_BYTES, flux=flux, read=read, repo_url=remote, rules=rules
        )
    seen: list[str] = []

    def accept(path: str) -> bool:
        seen.append(path)
        return is_manifest_path(path)

    def under(path: str) -> bool:
        return any(path == root or path.startswith(root + "/") for root in roots)

    inside: list[tuple[str, bytes]] = []
    outside: list[tuple[str, bytes]] = []
    before = len(snapshot.skipped)
    for path, data in snapshot.walk([], accept=accept, max_bytes=MAX_FILE_BYTES):
        (inside if under(path) else outside).append((path, data))
    snapshot.skipped[before:] = [s for s in snapshot.skipped[before:] if under(s[0])]
    snapshot.skipped.extend(
        (root, "path not found at this commit")
        for root in roots
        if not any(p == root or p.startswith(root + "/") for p in seen)
    )
    flux = find_flux_objects(outside, flux)
    return scan_files(
        inside, max_bytes=MAX_FILE_BYTES, flux=flux, read=read, repo_url=remote, rules=rules
    )


def flux_objects(snapshot: Snapshot) -> FluxObjects:
    """The Flux objects anywhere in ``snapshot`` (for sources that follow automations)."""
    before = len(snapshot.skipped)
    files = snapshot.walk([], accept=is_manifest_path, max_bytes=MAX_FILE_BYTES)
    found = find_flux_objects(files)
    del snapshot.skipped[before:]
    return found


def _decided(snapshot: Snapshot, sites: Sequence[Site], source: SourceSettings) -> tuple[Site, ...]:
    """``sites`` with what people decided in the history: rollbacks held, promotions timed."""
    if source.follow:
        return tuple(sites)
    if source.author_email:
        sites = rollback_holds(
            snapshot, sites, author_email=source.author_email, rules=source.rules
        )
    return promotions(snapshot, sites, now=datetime.now(UTC), rules=source.rules)


class _Planner:
    """Scan, resolve and plan one snapshot; memoised by commit for one reconcile."""

    def __init__(
        self,
        source: SourceSettings,
        catalog: RegistryCatalog,
        selected: FollowUnit | None = None,
        signatures: Signatures | None = None,
        cache: ScanCache | None = None,
        charts: Charts | None = None,
        first_seen: FirstSeenCycle | None = None,
        age_from: str = "build",
        now: datetime | None = None,
    ) -> None:
        self.source = source
        self.first_seen = first_seen
        self.age_from = age_from
        self.now = now
        self.catalog = catalog
        self.unit = selected
        self.signatures = signatures
        self.cache = cache
        self.charts = charts
        self.images: frozenset[str] = frozenset()
        self.files_parsed = 0
        self.snapshot: Snapshot | None = None  # the last one planned: the commit scanned
        self._plans: dict[str, Plan] = {}
        self._lock = threading.Lock()

    def __call__(self, snapshot: Snapshot) -> Plan:
        with self._lock:
            self.snapshot = snapshot
            plan = self._plans.get(snapshot.commit_id)
            if plan is None:
                plan = self._plans[snapshot.commit_id] = self._plan(snapshot)
            return plan

    def _plan(self, snapshot: Snapshot) -> Plan:
        flux = self.unit.flux() if self.unit is not None else None
        scan = scan_source(
            snapshot,
            self.source.paths,
            flux,
            remote=self.source.remote,
            rules=self.source.rules,
            cache=self.cache,
        )
        self.files_parsed += scan.files_parsed
        images = [s.image for s in scan.sites if s.chart is None]  # charts: not in registries
        self.catalog.prefetch(images)
        self.images = frozenset(image.canonical_name for image in images)
        skipped = [Skip(path, reason) for path, reason in snapshot.skipped]
        skipped += scan.skipped
        sites = _decided(snapshot, scan.sites, self.source)
        if self.first_seen is not None:
            self.first_seen.uses(first_seen_repositories(sites, self.age_from))
        return build_plan(
            sites,
            self.catalog,
            skipped=skipped,
            signatures=self.signatures,
            charts=self.charts,
            first_seen=self.first_seen,
            now=self.now,
            age_from=self.age_from,
        )


class Engine:
    """Reconciles the sources of one automator.yaml with the adapters it was given."""

    def __init__(self, adapters: Adapters) -> None:
        self.adapters = adapters
        self._by_name = {s.name: s for s in adapters.sources}
        self._images: dict[str, frozenset[str]] = {}  # each source's, at its last success
        self._images_lock = threading.Lock()  # workers reconcile sources at the same time
        self._shown: dict[str, Outcome] = {}  # each source's last outcome on its dashboard

    @property
    def sources(self) -> tuple[SourceSettings, ...]:
        return self.adapters.sources

    def forget(
        self, images: frozenset[str], tags: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        """A webhook says these repositories have new tags: list them again, and
        resolve each of ``tags`` ((repository, tag) pairs) afresh, past the digest cache."""
        self.adapters.catalog.forget(images)
        if tags:
            self.adapters.catalog.forget_digests(tags)

    def scan(self, name: str) -> ScanResult:
        """The Sites of source ``name`` at its branch tip, and everything skipped (``check``)."""
        source = self._by_name[name]
        snapshot = self.adapters.repo(source).fetch()
        if source.follow:
            return self._scan_followed(source, snapshot)
        scan = scan_source(snapshot, source.paths, remote=source.remote, rules=source.rules)
        skipped = tuple(Skip(path, reason) for path, reason in snapshot.skipped)
        sites = _decided(snapshot, scan.sites, source)
        return replace(scan, sites=sites, skipped=(*skipped, *scan.skipped))

    def _scan_followed(self, source: SourceSettings, snapshot: Snapshot) -> ScanResult:
        """``check`` of a source that follows automations: each one's path and policies."""
        scans = []
        for unit in follow_units(source.name, source.branch, flux_objects(snapshot), None, False):
            branch = unit.automation.checkout_branch
            tip = snapshot if branch == source.branch else self.adapters.repo(
                replace(source, branch=branch)
            ).fetch()  # fmt: skip
            scans.append(scan_source(tip, (unit.automation.path,), unit.flux()))
        return ScanResult(
            tuple(s for scan in scans for s in scan.sites),
            tuple(s for scan in scans for s in scan.skipped),
            sum(scan.files_scanned for scan in scans),
            sum(scan.files_parsed for scan in scans),
        )

    def reconcile(
        self, name: str, *, dry_run: bool = False, cancel: threading.Event | None = None
    ) -> Outcome:
        """Reconcile source ``name``; once ``cancel`` is set no write starts (Cancelled).

        With ``dry_run`` (or write mode ``dry-run``) the plan is made and spliced, and
        nothing is written. A reconcile that fails lets go of what the source holds
        (:meth:`release`) until one succeeds.
        """
        try:
            outcome = self._reconcile(name, dry_run=dry_run, cancel=cancel)
        except Cancelled:
            raise
        except AutomatorError as exc:
            self.release(name)
            if not (dry_run or self.adapters.write.mode == "dry-run"):
                self._dashboard_failed(self._by_name[name], exc)
            raise
        with self._images_lock:
            self._images[name] = outcome.images
        return outcome

    def release(self, name: str) -> None:
        """Drop what source ``name`` holds across reconciles: its scans in the scan cache
        and the tag listings of the repositories only it uses. (Its plans live only as long
        as one reconcile; its clone frees its libgit2 handle when an operation fails.)"""
        source = self._by_name[name]
        with self._images_lock:
            mine = self._images.pop(name, frozenset())
            others = {image for images in self._images.values() for image in images}
        self.adapters.catalog.drop(mine - others)
        if self.adapters.scan_cache is not None:
            self.adapters.scan_cache.forget(source.remote)

    def _reconcile(self, name: str, *, dry_run: bool, cancel: threading.Event | None) -> Outcome:
        source = self._by_name[name]
        if source.follow:
            outcome = self._follow(source, dry_run=dry_run, cancel=cancel)
            if not (dry_run or self.adapters.write.mode == "dry-run"):
                self._dashboard(source, outcome)
            return outcome
        repo = self.adapters.repo(source)
        now = self.adapters.now()
        seen = self.adapters.first_seen
        cycle = FirstSeenCycle(seen(source), now) if seen is not None else None
        planner = _Planner(
            source,
            self.adapters.catalog,
            signatures=self.adapters.signatures,
            cache=self.adapters.scan_cache,
            charts=self.adapters.charts,
            first_seen=cycle,
            age_from=self.adapters.min_age_from,
            now=now,
        )
        if dry_run or self.adapters.write.mode == "dry-run":  # plan: reads the record, never writes
            snapshot = repo.fetch()
            plan = splice(self._without_declined(source, repo, planner(snapshot)), snapshot.read)
            return Outcome(
                name, plan, snapshot=snapshot, images=planner.images,
                files_parsed=planner.files_parsed,
            )  # fmt: skip
        try:
            written = self._writer(source, repo).write(planner, cancel=cancel)
        finally:  # what was seen was seen, whatever became of the write (unless stopping)
            if cycle is not None and not (cancel is not None and cancel.is_set()):
                cycle.save()
        outcome = Outcome(
            name,
            written.plan,
            commit=written.commit,
            snapshot=planner.snapshot,
            images=planner.images,
            pull_requests=written.pull_requests,
            files_parsed=planner.files_parsed,
        )
        self._dashboard(source, outcome)
        return outcome

    def declined(self, name: str) -> list[str]:
        """``check``: the versions closed pull requests declined, read-only, in ``run``'s
        words; or why they were not consulted. Empty unless the source writes pull requests."""
        source = self._by_name[name]
        if self.adapters.forge is None or source.follow:
            return []
        repo = self.adapters.repo(source)
        try:
            found = self._read_declined(source, repo)
        except AutomatorError as exc:
            return [f"{NOT_CONSULTED}: {exc}"]
        return declined_lines(found)

    def _without_declined(self, source: SourceSettings, repo: Repository, plan: Plan) -> Plan:
        """``plan`` without what people declined (``plan``, read-only), or with a note
        saying the forge could not be asked."""
        if self.adapters.forge is None or source.follow:
            return plan
        try:
            found = self._read_declined(source, repo)
        except AutomatorError as exc:
            note = Skip(source.name, f"{NOT_CONSULTED}: {exc}")
            return replace(plan, skipped=(*plan.skipped, note))
        return apply_declined(plan, found, self.adapters.write.pulls.group)

    def _read_declined(
        self, source: SourceSettings, repo: Repository
    ) -> dict[str, tuple[Declined, ...]]:
        assert self.adapters.forge is not None
        forge = self.adapters.forge()
        branches = repo.remote_branches(BRANCH_PREFIX)
        return read_declined(forge, repo.branch, branches, source.name)

    def _dashboard(self, source: SourceSettings, outcome: Outcome) -> None:
        """Bring the source's status issue in line with ``outcome``; a view, so a failure
        is logged and the reconcile stands."""
        if source.dashboard is None or self.adapters.dashboard is None:
            return
        group = self.adapters.write.pulls.group
        plan, pulls = outcome.plan, outcome.pull_requests
        body = dashboard_body(source.name, plan, pulls, group, outcome.commit)
        with self._images_lock:
            self._shown[source.name] = replace(outcome, snapshot=None, images=frozenset())
        try:
            self.adapters.dashboard(source).sync(body)
        except AutomatorError as exc:
            logger.warning("%s: dashboard not updated: %s", source.name, exc)

    def _dashboard_failed(self, source: SourceSettings, error: AutomatorError) -> None:
        """Show on the source's existing status issue that its reconcile failed, above the
        last outcome this process showed; never creates one, never masks ``error``."""
        if source.dashboard is None or self.adapters.dashboard is None:
            return
        with self._images_lock:
            last = self._shown.get(source.name)
        group = self.adapters.write.pulls.group
        plan, pulls, commit = (
            (last.plan, last.pull_requests, last.commit) if last else (None, (), None)
        )
        body = dashboard_body(source.name, plan, pulls, group, commit, error=str(error))
        try:
            self.adapters.dashboard(source).edit_only(body)
        except AutomatorError as exc:
            logger.warning("%s: dashboard not updated with the failure: %s", source.name, exc)

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

    def _follow(
        self, source: SourceSettings, *, dry_run: bool, cancel: threading.Event | None
    ) -> Outcome:
        """Reconcile every ImageUpdateAutomation of ``source``, each checked before any write."""
        snapshot = self.adapters.repo(source).fetch()
        units = follow_units(
            source.name, source.branch, flux_objects(snapshot), self.adapters.signer
        )
        plans: list[Plan] = []
        commit = None
        images: set[str] = set()
        parsed = 0
        for unit in units:
            automation = unit.automation
            read = replace(source, branch=automation.checkout_branch, paths=(automation.path,))
            push = unit.push_branch
            if push and push in self.adapters.repo(read).remote_branches(push):
                read, push = replace(read, branch=push), None  # Flux switches to it when it exists
            repo = self.adapters.repo(read)
            planner = _Planner(
                read,
                self.adapters.catalog,
                unit,
                self.adapters.signatures,
                charts=self.adapters.charts,
            )
            if dry_run or self.adapters.write.mode == "dry-run":
                snapshot = repo.fetch()  # the diff's base: the branch this automation reads
                plans.append(splice(planner(snapshot), snapshot.read))
            else:
                writer = PushWriter(source.name, repo, unit.commit, unit.signer, push)
                written = writer.write(planner, cancel=cancel)
                plans.append(written.plan)
                if written.commit and automation.refspec:
                    push_refspec(repo, written.commit, automation.refspec)
                commit = written.commit or commit
            images |= planner.images
            parsed += planner.files_parsed
        plan = Plan(
            changes=tuple(c for p in plans for c in p.changes),
            skipped=tuple(s for p in plans for s in p.skipped),
            sites=sum(p.sites for p in plans),
            current=tuple(s for p in plans for s in p.current),
            files={path: data for p in plans for path, data in p.files.items()},
        )
        return Outcome(
            source.name, plan, commit=commit, snapshot=snapshot, images=frozenset(images),
            files_parsed=parsed,
        )  # fmt: skip

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
            chart_labels=self.adapters.chart_labels,
        )
