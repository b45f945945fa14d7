"""The wiring edge: everything automator talks to, built from automator.yaml.

This package is the only place that reads secrets (environment variables and files
named in the config; each is registered for log redaction) and the only one that
builds clients: the registry client, the Git repositories, the commit signer, the
forge, the notifier, the webhook secret. What it hands on are frozen settings and
ready clients, so nothing below it sees the pydantic ``Config``.

Credentials that rotate (Git tokens, the forge token) are read by factories each
time a reconcile opens a repository or a forge, so a rotated Secret needs no restart.

    engine(config, state_dir)      the Engine, for run --once, plan and the daemon
    scanner(config, state_dir)     an Engine that only scans (check): reads no
                                   registry, forge or signing secret
    daemon(config, state_dir)      the Daemon around an engine, with its settings,
                                   webhook secret and reporter
    reporter(config)               logs, metrics and notifications
    shard(config)                  this replica's share of the sources (--shard, replicas)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from automator.adapters.charts import chart_catalog, chart_links
from automator.adapters.daemon import daemon_settings, notifier, shard, webhook_settings
from automator.adapters.registries import registry_client, registry_hosts, registry_settings
from automator.adapters.signatures import signature_gate
from automator.adapters.sources import (
    first_seen_stores,
    first_seen_times,
    git_auth,
    open_repo,
    repositories,
    rules,
    source_settings,
)
from automator.adapters.state import checked_state_dir
from automator.adapters.writing import (
    PUBLIC_API,
    dashboard_factory,
    dashboard_title,
    forge_factory,
    signer,
    write_settings,
)
from automator.catalog import Registry, RegistryCatalog
from automator.config import Config
from automator.daemon import Daemon, Reporter
from automator.engine import Adapters, Engine, WriteSettings
from automator.git import Identity, state_dir_problem
from automator.manifests.cache import ScanCache
from automator.registry import RegistryClient
from automator.write import CommitSettings

__all__ = [
    "PUBLIC_API",
    "checked_state_dir",
    "daemon",
    "daemon_settings",
    "engine",
    "first_seen_stores",
    "first_seen_times",
    "forge_factory",
    "git_auth",
    "notifier",
    "open_repo",
    "registry_client",
    "registry_hosts",
    "registry_settings",
    "reporter",
    "rules",
    "scanner",
    "shard",
    "signature_gate",
    "signer",
    "source_settings",
    "webhook_settings",
    "write_settings",
]


def engine(
    config: Config,
    state_dir: Path,
    *,
    registry: Registry | None = None,
    max_age: float | None = None,
    scan_cache: ScanCache | None = None,
    now: Callable[[], datetime] | None = None,
) -> Engine:
    """The engine for ``config``, its adapters built here.

    ``max_age`` keeps tag listings for that many seconds across reconciles (the
    daemon); without it a listing lasts as long as the engine (one ``run --once``).
    ``now`` is the clock ``min-age`` and first-seen times read (default: the system's).
    """
    client = registry if registry is not None else registry_client(config, state_dir)
    charts = chart_catalog(config, state_dir)
    return Engine(
        Adapters(
            sources=tuple(
                source_settings(s, rules(config), _author(config), dashboard_title(config, s))
                for s in config.sources
            ),
            repo=repositories(config, state_dir),
            catalog=RegistryCatalog(client, max_age=max_age),
            write=write_settings(config),
            signer=signer(config),
            forge=forge_factory(config),
            signatures=signature_gate(config, _store(client, config)),
            charts=charts,
            chart_labels=chart_links(charts, client),
            scan_cache=scan_cache,
            first_seen=first_seen_stores(config, state_dir),
            now=now or (lambda: datetime.now(UTC)),
            min_age_from=config.min_age_from,
            dashboard=dashboard_factory(config, state_dir),
        )
    )


def _store(client: Registry, config: Config) -> RegistryClient:
    """The client the signature gate reads with: the engine's own when it is a real one
    (a wrapped or fake one gets a cache-less client of its own, built without I/O)."""
    return client if isinstance(client, RegistryClient) else registry_client(config)


def scanner(config: Config, state_dir: Path) -> Engine:
    """An engine that only scans (``automator check``): it reads no registry or signing
    secret, only what opening the sources' repositories needs, and, in pull-request mode,
    the forge token to read which versions closed pull requests declined."""
    commit = CommitSettings(Identity.parse(config.write.commit.author))
    return Engine(
        Adapters(
            sources=tuple(
                source_settings(s, rules(config), _author(config)) for s in config.sources
            ),
            repo=repositories(config, checked_state_dir(state_dir)),
            catalog=RegistryCatalog(RegistryClient([])),
            write=WriteSettings("dry-run", commit, write_settings(config).pulls),
            forge=forge_factory(config),
        )
    )


def reporter(config: Config) -> Reporter:
    """One reporter (logs, metrics, notifications) for the daemon and ``run --once``."""
    return Reporter(notifier(config))


def daemon(
    config: Config, state_dir: Path, *, workers: int = 4, shutdown_timeout: float = 25.0
) -> Daemon:
    """The daemon: one engine whose tag listings live half an interval, shared by all
    workers, so each repository is listed once per half interval however many sources
    use it (a webhook evicts what it names), and a scan cache, so a source whose commit
    did not change is not parsed again. A ``state_dir`` that cannot be used is no
    reason to die: the registry cache is left off and /readyz says why."""
    settings = daemon_settings(
        config, state_dir, workers=workers, shutdown_timeout=shutdown_timeout
    )
    usable = state_dir_problem(state_dir, create=True) is None
    client = registry_client(config, state_dir if usable else None)
    return Daemon(
        engine(
            config,
            state_dir,
            registry=client,
            max_age=settings.interval / 2,
            scan_cache=ScanCache(),
        ),
        settings,
        reporter(config),
        webhooks=webhook_settings(config),
    )


def _author(config: Config) -> str:
    """The email automator commits as: with its trailer, how its commits are known."""
    return Identity.parse(config.write.commit.author).email
