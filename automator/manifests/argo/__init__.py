"""Argo CD Image Updater in the config repo: Applications, ImageUpdaters, their Sites.

    ArgoObjects.add(path, document)     remember Applications and ImageUpdaters
    ArgoObjects.sites(read, repo_url)   a Site per image where Argo would write it

Only ``write-back-method: git`` (and ``git:<creds>``) writes to Git; the default
``argocd`` method writes to the cluster and is reported as skipped. An Application
whose source lives in another repository is skipped too. See ``docs/argo.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.nodes import Node

from automator.errors import ManifestError
from automator.manifests.argo.imageupdater import API_GROUP, apps_for
from automator.manifests.argo.settings import App, Source, from_annotations, metadata_map
from automator.manifests.argo.targets import sites_for
from automator.manifests.document import plain_data
from automator.model import Site, Skip

__all__ = ["ArgoObjects"]

Read = Callable[[str], bytes | None]
_URL = re.compile(r"^(?:[a-z+]+://)?(?:[^@/]+@)?(?P<rest>.*?)(?:\.git)?/*$")


@dataclass(slots=True)
class ArgoObjects:
    """The Argo CD Applications and ImageUpdaters found in a repo, with where they are."""

    applications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updaters: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add(self, path: str, document: Node) -> None:
        """Remember ``document`` if it is an Application or an ImageUpdater."""
        data = plain_data(document, budget=1 << 16)
        if not isinstance(data, dict):
            return
        api, kind = str(data.get("apiVersion") or ""), data.get("kind")
        where = f"{path}:{document.start_mark.line + 1}"
        if kind == "Application" and api.startswith("argoproj.io/"):
            self.applications.append((where, data))
        elif kind == "ImageUpdater" and api.startswith(API_GROUP):
            self.updaters.append((where, data))

    def sites(
        self, read: Read, repo_url: str | None = None, paths: Sequence[str] = ()
    ) -> tuple[list[Site], list[Skip]]:
        """A Site per Image Updater image, or a Skip saying why it is left alone.

        ``paths`` are the repo's manifest files (see ``targets.sites_for``).
        """
        sites: list[Site] = []
        skips: list[Skip] = []
        for where, app in self._apps(skips):
            if not app.method.startswith("git"):
                reason = f"Application {app.name}: write-back-method {app.method} writes to"
                skips.append(Skip(where, reason + " the cluster, not Git; set it to git"))
                continue
            source = _source(app, repo_url)
            if source is None:
                reason = f"Application {app.name}: its source is not a path in this repository"
                skips.append(Skip(where, reason))
                continue
            for image in app.images:
                try:
                    sites.append(sites_for(app, source, image, read, paths))
                except ManifestError as exc:
                    skips.append(Skip(where, f"{image.alias or image.name}: {exc}", True))
        return sites, skips

    def _apps(self, skips: list[Skip]) -> list[tuple[str, App]]:
        out: list[tuple[str, App]] = []
        selected: set[str] = set()
        for where, updater in self.updaters:
            try:
                apps = apps_for(updater, self.applications)
            except ManifestError as exc:
                skips.append(Skip(where, str(exc), True))
                continue
            selected.update(app.where for app in apps)
            out.extend((app.where, app) for app in apps)
        for where, document in self.applications:
            if where in selected:
                continue
            metadata, spec = (_mapping(document.get(key)) for key in ("metadata", "spec"))
            name, namespace = str(metadata.get("name") or ""), str(metadata.get("namespace") or "")
            annotations = metadata_map(document, "annotations")
            try:
                app = from_annotations(name, namespace, where, spec, annotations)
            except ManifestError as exc:
                skips.append(Skip(where, str(exc), True))
                continue
            if app is not None:
                out.append((where, app))
        return out


def _source(app: App, repo_url: str | None) -> Source | None:
    """The first source with a path in this repository (``git-repository`` wins)."""
    for source in app.sources:
        url = app.repository or source.repo_url
        if source.path and (repo_url is None or same_repo(url, repo_url)):
            return source
    return None


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def same_repo(a: str, b: str) -> bool:
    """Whether two Git URLs name one repository (scheme, user, ``.git`` and case aside)."""

    def key(url: str) -> str:
        match = _URL.match(url.strip())
        rest = match.group("rest") if match else url
        return rest.replace(":", "/").lower()

    return key(a) == key(b)
