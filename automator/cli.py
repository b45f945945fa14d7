"""The ``automator`` command: ``run``, ``plan``, ``check``, ``explain``, ``config``, ``version``.

Each command loads the config, asks ``automator.adapters`` for what it needs and
prints the result; none holds logic of its own. One module a little over 300 lines,
most of it help text, so that the whole command tree reads in one place.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import click

import policies
from automator import __version__, adapters
from automator.catalog import Registry as RegistryClient
from automator.catalog import RegistryCatalog
from automator.config import (
    Config,
    Registry,
    json_schema,
    load_config,
    parse_config,
    with_overrides,
)
from automator.engine import SourceSettings
from automator.errors import AutomatorError, ConfigError
from automator.firstseen import first_seen_notes, first_seen_repositories
from automator.logs import setup_logging
from automator.manifests import ScanResult, check_errors, check_report
from automator.model import Skip
from automator.reference import ImageRef, parse_reference
from automator.registry.hosts import RegistryHosts
from automator.write import unified_diff
from policies.age import seen_phrase

logger = logging.getLogger("automator")

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    default="automator.yaml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Path to automator.yaml.",
)
STATE_OPTION = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where clones and caches live (overrides state_dir in the config).",
)


LOG_FORMATS = click.Choice(["auto", "json", "text"])


def _load(config_path: Path, **cli: Any) -> Config:
    """automator.yaml, then AUTOMATOR_* variables, then command-line options, in that order."""
    cli = {k: (str(v) if v is not None else None) for k, v in cli.items()}
    config = with_overrides(load_config(config_path), cli=cli)
    ctx = click.get_current_context()
    if not (ctx.obj or {}).get("log_format_chosen") and config.log_format != "auto":
        setup_logging(config.log_format, verbose=(ctx.obj or {}).get("verbose", False))
    return config


def _registry(config: Config) -> RegistryClient:
    """The registry client; it shows a progress bar when stderr is a terminal."""
    client = adapters.registry_client(config, Path(config.state_dir))
    if not sys.stderr.isatty():
        return client
    from automator.terminal import ProgressRegistry

    return ProgressRegistry(client)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.option(
    "--log-format",
    type=LOG_FORMATS,
    default=None,
    help="Log as text or JSON lines [default: text on a terminal, else JSON;"
    " env AUTOMATOR_LOG_FORMAT; config log_format].",
)
@click.version_option(__version__, prog_name="automator")
@click.pass_context
def cli(ctx: click.Context, verbose: bool, log_format: str | None) -> None:
    """Keep the image tags in a GitOps repo up to date.

    Settings come from automator.yaml; AUTOMATOR_INTERVAL, AUTOMATOR_LISTEN,
    AUTOMATOR_STATE_DIR and AUTOMATOR_LOG_FORMAT override it, and command-line
    options override both.

    \b
    Examples:
      automator plan --config automator.yaml      # show the diff, push nothing
      automator run --once --config automator.yaml
      automator run --config automator.yaml       # the daemon: schedules, webhooks, /metrics
      automator config validate --config automator.yaml
    """
    chosen = log_format or os.environ.get("AUTOMATOR_LOG_FORMAT") or None
    ctx.obj = {"verbose": verbose, "log_format_chosen": chosen is not None}
    if chosen not in (None, "auto", "json", "text"):
        raise click.BadParameter(f"AUTOMATOR_LOG_FORMAT={chosen!r}: use auto, json or text")
    setup_logging(cast(Any, chosen or "auto"), verbose=verbose)


@cli.command()
@CONFIG_OPTION
@STATE_OPTION
@click.option("--once", is_flag=True, help="Reconcile every source once, then exit.")
@click.option("--listen", default=None, help="Address for webhooks and probes, e.g. :8080.")
@click.option("--interval", default=None, help="Time between scans of a source, e.g. 5m.")
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    default=25.0,
    show_default=True,
    help="Seconds to wait for reconciles in progress after SIGTERM.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Sources reconciled at the same time.",
)
@click.option(
    "--shard",
    default=None,
    help="Reconcile only replica i of N's share of the sources, e.g. 0/4"
    " [env AUTOMATOR_SHARD; config shard; or replicas and the hostname's ordinal].",
)
def run(
    config_path: Path,
    state_dir: Path | None,
    once: bool,
    listen: str | None,
    interval: str | None,
    shutdown_timeout: float,
    workers: int,
    shard: str | None,
) -> None:
    """Reconcile every source: update image tags and push the commit.

    Without --once this is the daemon: each source is scanned every interval
    (with jitter), at once when a registry webhook names one of its images, and
    /healthz, /readyz, /metrics and POST /webhook/<kind> are served on --listen.
    SIGTERM stops it cleanly: no new write starts, a write in progress finishes.

    \b
    Examples:
      automator run --once --config automator.yaml
      automator run --config automator.yaml --listen :8080 --interval 5m
      AUTOMATOR_INTERVAL=1m automator run --config automator.yaml
      automator run --config automator.yaml --shard 1/4   # replica 1 of 4
    """
    config = _load(config_path, listen=listen, interval=interval, state_dir=state_dir, shard=shard)
    state = Path(config.state_dir)
    if not once:
        _run_daemon(config, state, shutdown_timeout=shutdown_timeout, workers=workers)
        return
    mine = adapters.shard(config)
    owned = [s for s in config.sources if mine.owns(s.name, s.url)]
    config = config.model_copy(update={"sources": owned})
    engine = adapters.engine(config, state, registry=_registry(config))
    reporter = adapters.reporter(config)
    outcomes, failures = engine.reconcile_all(report=reporter.reconciled)
    for name, exc in failures:
        reporter.failed(name, exc)
    if failures or any(o.plan.errors for o in outcomes):
        raise SystemExit(1)


def _run_daemon(config: Config, state: Path, *, shutdown_timeout: float, workers: int) -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon = adapters.daemon(config, state, workers=workers, shutdown_timeout=shutdown_timeout)
    daemon.run(stop, threading.Event())


@cli.command()
@CONFIG_OPTION
@STATE_OPTION
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a table of changes on stderr and the diff on stdout; json: one document.",
)
def plan(config_path: Path, state_dir: Path | None, output: str) -> None:
    """Print the diff that `run` would commit; push nothing.

    The diff on stdout applies with `git apply`; the table of changes and the
    skipped files go to stderr. On a terminal the diff is coloured. --output json
    prints one document (schema: docs/plan.schema.json, "version": 1) listing
    every Site, changed or not. Either way the last line on stderr sums it up.

    \b
    Exit status:
      0  planned, whether or not anything changes
      1  a configuration or usage error; nothing was planned
      2  some Sites or sources failed while the others were planned

    \b
    Examples:
      automator plan --config automator.yaml
      automator plan --config automator.yaml > update.patch
      automator plan --output json | jq '.sources[].sites[] | select(.status == "changed")'
    """
    from automator.plandoc import failed, plan_document, summary_line
    from automator.terminal import change_table, coloured_diff

    config = _load(config_path, state_dir=state_dir)
    engine = adapters.engine(config, Path(config.state_dir), registry=_registry(config))
    outcomes, failures = engine.reconcile_all(dry_run=True)
    document = plan_document(outcomes, failures)
    if output == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(change_table(outcomes), err=True, nl=False)
    for outcome in outcomes if output == "text" else ():
        for skip in outcome.plan.skipped:
            click.echo(f"# {outcome.source}: skipped {skip.where}: {skip.reason}", err=True)
        if outcome.plan.empty:
            if not outcome.plan.errors:
                click.echo(f"# {outcome.source}: up to date ({outcome.plan.sites} sites)", err=True)
            continue
        assert outcome.snapshot is not None
        diff = unified_diff(outcome.plan.files, outcome.snapshot.read)
        click.echo(coloured_diff(diff), nl=False)
    for name, exc in failures if output == "text" else ():
        click.echo(f"# {name}: failed: {exc}", err=True)
    click.echo(f"automator: {summary_line(document)}", err=True)
    if failed(document):
        raise SystemExit(2)


@cli.command()
@CONFIG_OPTION
@STATE_OPTION
def check(config_path: Path, state_dir: Path | None) -> None:
    """List every image Site found and the policy that governs it, and refuse mistakes.

    Each Site's line ends with where its policy came from: (annotation), (marker),
    (rule <name>), (imagepolicy), (flux-v1). Mistakes (a policy that does not parse,
    an annotation on the pod template or naming no container, a marker that governs
    no image) are one line each on stderr, with what to do; then check exits 1.
    In pull-request mode the versions closed pull requests declined are listed too,
    read from the forge without writing (or a line says they could not be).
    Under a Site whose min-age counts from first sight: the recorded tags it waits
    for, when automator first saw each and when it is old enough (read, never written).

    \b
    Example:
      automator check --config automator.yaml
    """
    config = _load(config_path, state_dir=state_dir)
    engine = adapters.scanner(config, Path(config.state_dir))
    hosts = adapters.registry_hosts(config)
    mistakes = 0
    for source in engine.sources:
        result = engine.scan(source.name)
        seen = _first_seen_notes(config, source, result)
        for line in check_report(_unlisted_skipped(result, hosts), seen):
            click.echo(f"{source.name}: {line}")
        for line in engine.declined(source.name):
            click.echo(f"{source.name}: {line}")
        for line in check_errors(result):
            click.echo(f"automator: error: {source.name}: {line}", err=True)
            mistakes += 1
    if mistakes:
        click.echo(f"automator: check: {mistakes} mistakes; fix them and run check again", err=True)
        raise SystemExit(1)


@cli.command()
@click.argument("repo", default=".")
@CONFIG_OPTION
@click.option("--name", default="fleet", show_default=True, help="The source's name.")
@click.option("--branch", default=None, help="The branch to follow [default: HEAD's, or main].")
def init(repo: str, config_path: Path, name: str, branch: str | None) -> None:
    """Scan REPO (a directory or a Git URL) and write a starter automator.yaml.

    The starter names the source, every registry an image comes from, and a rule
    per major version so each image follows the newest release of its major.
    An existing file is never overwritten.

    \b
    Examples:
      automator init                       # the repo in this directory
      automator init ../fleet --config ../fleet-automator.yaml
      automator init https://github.com/acme/fleet.git --branch main
    """
    from automator.initrepo import read_repo
    from automator.starter import starter_config, survey

    if config_path.exists():
        raise ConfigError(
            f"{config_path}: exists, and init never overwrites it;"
            " pass --config with another path, or remove it"
        )
    files, url, found_branch = read_repo(repo, config_path, branch)
    text = starter_config(survey(files), url=url, name=name, branch=found_branch)
    config_path.write_text(text, encoding="utf-8")
    click.echo(f"wrote {config_path}; next: automator check --config {config_path}")


def _unlisted_skipped(scan: ScanResult, hosts: RegistryHosts) -> ScanResult:
    """``scan`` with each Site on a registry host that may not be contacted as a Skip."""
    refused = [s for s in scan.sites if not hosts.admits(s.image.registry)]
    skips = (Skip(s.where, hosts.refusal(s.image.name, s.image.registry), True) for s in refused)
    kept = tuple(s for s in scan.sites if s not in refused)
    return replace(scan, sites=kept, skipped=(*scan.skipped, *skips))


@cli.group("config")
def config_group() -> None:
    """Inspect automator.yaml: its JSON Schema, or whether a file is valid.

    \b
    Examples:
      automator config schema > automator.schema.json
      automator config validate --config automator.yaml
    """


@config_group.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of automator.yaml (for editors and CI)."""
    click.echo(json.dumps(json_schema(), indent=2))


@config_group.command("reference")
def config_reference() -> None:
    """Print the Markdown reference of every key (docs/config.md is this output)."""
    from automator.configdoc import reference

    click.echo(reference(json_schema()), nl=False)


@config_group.command("validate")
@CONFIG_OPTION
def config_validate(config_path: Path) -> None:
    """Check automator.yaml and the AUTOMATOR_* overrides; exit 1 with the key path if wrong.

    \b
    Example:
      automator config validate --config automator.yaml
    """
    config = _load(config_path)
    click.echo(f"{config_path}: valid ({len(config.sources)} sources)")


@cli.command()
@click.argument("image")
@click.option("--policy", "policy_text", required=True, help="A policy string, e.g. semver:~1.4")
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="automator.yaml, for the registry settings (credentials, insecure, CA).",
)
@click.option("--insecure", is_flag=True, help="Talk plain HTTP to the image's registry.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def explain(
    image: str, policy_text: str, config_path: Path | None, insecure: bool, limit: int
) -> None:
    """List IMAGE's tags and show which one POLICY picks, and why each other lost.

    IMAGE names the repository and, optionally, the tag running now. With --config,
    the Sites of IMAGE in the config repos that a person holds are listed too, each
    with its reason and where the hold was set, and each promote-from Site with its
    chain: where its tag runs, since which commit and date, and when the soak ends.

    \b
    Examples:
      automator explain ghcr.io/acme/api:1.4.2 --policy 'semver:~1.4'
      automator explain nginx --policy 'glob:1.2*-alpine'
    """
    ref = parse_reference(image)
    if config_path is not None:
        config = load_config(config_path)  # its registries: are the hosts that may be asked
    else:  # the image named on the command line, not by a config repo: its host is listed
        listed = [{"host": ref.domain or ref.registry}]
        config = parse_config({"sources": [{"name": "explain", "url": "."}], "registries": listed})
    if insecure:
        others = [r for r in config.registries if r.host != ref.registry]
        entry = Registry(host=ref.domain or ref.registry, insecure=True)
        config = config.model_copy(update={"registries": [*others, entry]})
    try:
        policy = policies.parse_policy(policy_text, age_from=config.min_age_from)
    except policies.PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from exc
    seen = _first_seen(config if config_path is not None else None, policy, ref)
    client = adapters.registry_client(config)
    catalog = RegistryCatalog(client)
    found = catalog.candidates(
        ref,
        created=policy.needs_created,
        platform=policy.platform,
        wanted=policies.admitter(policy),
        current=ref.tag,
    )
    if isinstance(found, AutomatorError):
        raise found
    gate = adapters.signature_gate(config, client).gate(ref) if policy.verify else None
    decision = policies.select_tag(policy, found, ref.tag, verify=gate, seen=seen)
    click.echo(f"{ref.canonical_name}: {len(found)} tags, policy {policy_text}")
    if seen is not None:
        now = datetime.now(UTC)
        for tag in policies.awaiting_age(policy, found, ref.tag):
            when = seen.get(tag)
            said = seen_phrase(when, now) if when else "not yet seen by automator (too young)"
            click.echo(f"{tag}: {said}")
    unread, why = catalog.unread(ref)
    if unread:
        click.echo(f"build times not read for {unread} tags: {why}")
    if decision.tag is None:
        click.echo(f"no tag selected: {decision.reason}")
    rows = policies.decision_table(decision, limit=limit)
    width = min(max((len(tag) for tag, _ in rows), default=3), 40)
    for tag, verdict in rows:
        click.echo(f"  {tag:<{width}}  {verdict}")
    if config_path is not None:
        for line in _held_sites(config, ref):
            click.echo(line)
    if decision.tag is None:
        raise SystemExit(1)


def _first_seen(
    config: Config | None, policy: policies.Policy, ref: ImageRef
) -> dict[str, datetime] | None:
    """``explain``: for a first-seen ``min-age``, when automator first saw each tag, read
    from the config repos' records (none without --config: every tag counts as seen now)."""
    if policy.min_age is None or policy.age_from != "first-seen":
        return None
    if config is None:
        click.echo("no --config: no first-seen record is read, so every tag counts as seen now")
        return {}
    return adapters.first_seen_times(config, Path(config.state_dir), ref.canonical_name)


def _first_seen_notes(
    config: Config, source: SourceSettings, result: ScanResult
) -> dict[str, list[str]]:
    """``check``: the first-seen times of the Sites whose ``min-age`` counts from first
    sight, read from the source's record (read only, as ``plan`` does; none: no read)."""
    age_from = config.min_age_from
    if not first_seen_repositories(result.sites, age_from):
        return {}
    store = adapters.first_seen_stores(config, Path(config.state_dir))(source)
    return first_seen_notes(result.sites, store.read(), datetime.now(UTC), age_from)


def _held_sites(config: Config, ref: ImageRef) -> list[str]:
    """``explain``: the holds on the Sites of ``ref``'s repository in the config repos."""
    engine = adapters.scanner(config, Path(config.state_dir))
    lines = []
    for source in engine.sources:
        for site in engine.scan(source.name).sites:
            if site.image.canonical_name != ref.canonical_name:
                continue
            if site.hold is not None:
                hold = site.hold
                lines.append(f"held: {source.name} {site.where} at {site.image}"
                             f" by {hold.by}: {hold.reason}")  # fmt: skip
            if (promo := site.promotion) is not None:
                chain = promo.problem or promo.chain()
                lines.append(f"promotion: {source.name} {site.where}: {chain}")
    return lines


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every AutomatorError becomes one line on stderr and exit status 1."""
    try:
        cli.main(args=argv, prog_name="automator", standalone_mode=False)
    except AutomatorError as exc:
        logger.debug("the error and its causes", exc_info=exc)  # -v shows the chain
        click.echo(f"automator: error: {exc}", err=True)
        return 1
    except click.exceptions.Abort:
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
