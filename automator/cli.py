"""The ``automator`` command."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from automator import __version__
from automator.config import Config, load_config
from automator.engine import Outcome, open_repo, reconcile_all
from automator.errors import AutomatorError
from automator.manifests import check_report, is_manifest_path, scan_files
from automator.plan import unified_diff

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


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s" if sys.stderr.isatty() else "%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _state_dir(config: Config, override: Path | None) -> Path:
    return override if override is not None else Path(config.state_dir)


def _log_outcome(outcome: Outcome) -> None:
    for change in outcome.plan.changes:
        logger.info("%s: %s", outcome.source, change.describe())
    for skip in outcome.plan.skipped:
        log = logger.error if skip.error else logger.warning
        log("%s: skipped %s: %s", outcome.source, skip.where, skip.reason)
    for result in outcome.pull_requests:
        logger.info(
            "%s: %s: pull request %s%s",
            outcome.source,
            result.branch,
            result.outcome,
            f" {result.url}" if result.url else "",
        )
    if outcome.commit:
        logger.info("%s: pushed commit %s", outcome.source, outcome.commit)
    elif outcome.plan.empty and not outcome.pull_requests:
        logger.info("%s: up to date (%d sites)", outcome.source, outcome.plan.sites)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.version_option(__version__, prog_name="automator")
def cli(verbose: bool) -> None:
    """Keep the image tags in a GitOps repo up to date.

    \b
    Examples:
      automator plan --config automator.yaml      # show the diff, push nothing
      automator run --once --config automator.yaml
    """
    _setup_logging(verbose)


@cli.command()
@CONFIG_OPTION
@STATE_OPTION
@click.option("--once", is_flag=True, help="Reconcile every source once, then exit.")
def run(config_path: Path, state_dir: Path | None, once: bool) -> None:
    """Reconcile every source: update image tags and push the commit."""
    config = load_config(config_path)
    state = _state_dir(config, state_dir)
    while True:
        dry_run = config.write.mode == "dry-run"
        outcomes, failures = reconcile_all(config, state, dry_run=dry_run, report=_log_outcome)
        for name, exc in failures:
            logger.error("%s: %s", name, exc)
        if once:
            if failures or any(o.plan.errors for o in outcomes):
                raise SystemExit(1)
            return
        time.sleep(config.interval_seconds)


@cli.command()
@CONFIG_OPTION
@STATE_OPTION
def plan(config_path: Path, state_dir: Path | None) -> None:
    """Print the diff that `run` would commit; push nothing."""
    config = load_config(config_path)
    outcomes, failures = reconcile_all(config, _state_dir(config, state_dir), dry_run=True)
    for outcome in outcomes:
        for skip in outcome.plan.skipped:
            click.echo(f"# {outcome.source}: skipped {skip.where}: {skip.reason}", err=True)
        if outcome.plan.empty:
            click.echo(f"# {outcome.source}: up to date ({outcome.plan.sites} sites)", err=True)
            continue
        assert outcome.snapshot is not None
        click.echo(unified_diff(outcome.plan, outcome.snapshot.read), nl=False)
    for name, exc in failures:
        logger.error("%s: %s", name, exc)
    if failures or any(o.plan.errors for o in outcomes):
        raise SystemExit(1)


@cli.command()
@CONFIG_OPTION
@STATE_OPTION
def check(config_path: Path, state_dir: Path | None) -> None:
    """List every image Site found, and every annotation or marker left unresolved."""
    config = load_config(config_path)
    state = _state_dir(config, state_dir)
    for source in config.sources:
        snapshot = open_repo(source, state).fetch()
        files = [(p, d) for p, d in snapshot.walk(source.paths) if is_manifest_path(p)]
        for line in check_report(scan_files(files)):
            click.echo(f"{source.name}: {line}")


@cli.command()
def version() -> None:
    """Print the version."""
    click.echo(__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every AutomatorError becomes one line on stderr and exit status 1."""
    try:
        cli.main(args=argv, prog_name="automator", standalone_mode=False)
    except AutomatorError as exc:
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
