"""Helm chart repositories: the hosts of ``registries:`` and their credentials and CAs.

A Helm repository host follows the registries' trust rule, strictly: it must be
listed under ``registries:`` in automator.yaml (``allow_unlisted_registries`` does not
cover chart repositories), because the HelmRepository that names it is in the config
repo, and whoever can commit there must not choose where automator connects.
"""

from __future__ import annotations

from pathlib import Path

from automator.adapters._secrets import read_secret
from automator.catalog import Registry
from automator.charts.catalog import ChartCatalog
from automator.charts.links import ChartLinks
from automator.charts.repository import Access, HelmRepositories
from automator.config import Config
from automator.errors import ChartError
from automator.http import HttpClient, count_as
from automator.registry import RegistryClient
from automator.write import ChartLabels


def chart_catalog(config: Config, state_dir: Path | None = None) -> ChartCatalog:
    """Chart versions from the repositories on listed hosts; with ``state_dir``, a disk cache."""
    entries = {entry.host.lower(): entry for entry in config.registries}

    def access(host: str) -> Access:
        entry = entries.get(host)
        if entry is None:
            raise ChartError(
                f"Helm repository host {host} is not listed under registries: in automator.yaml;"
                " add it there to let automator read its charts"
            )
        password = None
        if entry.password_env or entry.password_file:
            password = read_secret(
                env=entry.password_env, file=entry.password_file, what=f"{host} password"
            )
        return Access(
            entry.username, password, entry.ca_bundle, entry.insecure, entry.max_index_bytes
        )

    cache_dir = state_dir / "helm-index" if state_dir is not None else None
    http = HttpClient(count=count_as("charts"))
    repositories = HelmRepositories(http, access, cache_dir=cache_dir)
    return ChartCatalog(repositories, allowed=lambda host: host in entries)


def chart_links(charts: ChartCatalog, client: Registry) -> ChartLabels:
    """The links of chart updates: from the indexes ``charts`` read, and from OCI charts'
    manifest annotations through ``client`` (a real registry client; a fake gives none)."""
    annotations = client.annotations if isinstance(client, RegistryClient) else None
    return ChartLinks(charts, annotations).labels
