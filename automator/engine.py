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

from automator.catalog import RegistryCatalog
from automator.config import Config, Source
from automator.errors import AutomatorError, Cancelled, ConfigError
from automator.forges import Forge
from automator.git import (
    GitAuth,
    GitRepo,
    GpgSigner,
    Identity,
    NewCommit,
    Signer,
    Snapshot,
    SshSigner,
    render_message,
)
from automator.manifests import ScanResult, is_manifest_path, scan_files
from automator.model import Plan, Skip
from automator.plan import build_plan
from automator.pullrequests import GroupResult, forge_from_config, write_pull_requests
from automator.registry import RegistryCache, RegistryClient, RegistrySettings
from automator.secrets import secret_from

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


def registry_settings(config: Config) -> list[RegistrySettings]:
    """Registry settings from the config, secrets read from env or files."""
    result = []
    for index, entry in enumerate(config.registries):
        password = None
        if entry.password_env or entry.password_file:
            password = secret_from(
                env=entry.password_env,
                file=entry.password_file,
                what=f"registries[{index}] ({entry.host}) password",
            )
        result.append(
            RegistrySettings(
                host=entry.host,
                insecure=entry.insecure,
                username=entry.username,
                password=password,
                docker_config=entry.docker_config,
                ca_bundle=entry.ca_bundle,
                client_cert=entry.client_cert,
                client_key=entry.client_key,
                requests_per_second=entry.requests_per_second,
                max_concurrency=entry.max_concurrency,
                token_realm_hosts=tuple(h.lower() for h in entry.token_realm_hosts),
            )
        )
    return result


def registry_client(
    config: Config, state_dir: Path | None = None, *, session: requests.Session | None = None
) -> RegistryClient:
    """A client for every configured registry; with ``state_dir``, a persistent cache."""
    cache = None
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        cache = RegistryCache(state_dir / "registry-cache.sqlite")
    return RegistryClient(registry_settings(config), cache=cache, session=session)


def git_auth(source: Source, index: int = 0) -> GitAuth | None:
    """Credentials for ``source``'s remote, secrets read from env or files."""
    auth = source.auth
    if auth is None:
        return None
    what = f"sources[{index}] ({source.name}) auth"
    password = None
    if auth.token_env or auth.token_file:
        password = secret_from(env=auth.token_env, file=auth.token_file, what=f"{what} token")
    elif auth.password_env or auth.password_file:
        password = secret_from(
            env=auth.password_env, file=auth.password_file, what=f"{what} password"
        )
    username = auth.username
    if password is not None and username is None:
        username = "x-access-token"
    passphrase = None
    if auth.ssh_passphrase_env:
        passphrase = secret_from(env=auth.ssh_passphrase_env, what=f"{what} ssh passphrase")
    return GitAuth(
        username=username,
        password=password,
        ssh_key_file=Path(auth.ssh_key_file) if auth.ssh_key_file else None,
        ssh_passphrase=passphrase,
        known_hosts_file=Path(auth.known_hosts_file) if auth.known_hosts_file else None,
        accept_unknown_hosts=auth.accept_unknown_hosts,
        ca_file=Path(auth.ca_file) if auth.ca_file else None,
    )


def open_repo(source: Source, state_dir: Path, index: int = 0) -> GitRepo:
    return GitRepo(source.url, source.branch, state_dir / "git", auth=git_auth(source, index))


def signer(config: Config) -> Signer | None:
    """The commit signer the config asks for, if any."""
    sign = config.write.commit.sign
    if sign is None:
        return None
    if sign.ssh_key_file:
        passphrase = None
        if sign.ssh_passphrase_env:
            passphrase = secret_from(env=sign.ssh_passphrase_env, what="write.commit.sign")
        return SshSigner.from_file(Path(sign.ssh_key_file), passphrase)
    if sign.gpg_key:
        return GpgSigner(sign.gpg_key, Path(sign.gpg_home) if sign.gpg_home else None)
    raise ConfigError("write.commit.sign: name ssh_key_file or gpg_key")


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
