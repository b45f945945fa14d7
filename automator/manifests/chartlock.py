"""A Chart.yaml dependency's ``Chart.lock``: found, checked, and attached to its Site.

When a governed dependency's chart has a ``Chart.lock`` beside it, the lock's entry for
that dependency and its ``digest`` move with the version (``charts.lockchanges``).
Before that, the lock's digest is recomputed as Helm computes it
(``charts.lock.lock_digest``) from both files as they are: a lock that does not match
(out of date already, or holding what cannot be reproduced exactly) is refused with
one line, and the dependency is left alone, so nothing is written that
``helm dependency build`` would reject.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from ruamel.yaml.nodes import Node, SequenceNode

from automator.charts.lock import LockError, lock_digest
from automator.errors import ManifestError
from automator.manifests.document import compose, decode, mapping_get, plain_data, value_start
from automator.manifests.walk import Scalar, scalars
from automator.model import LockEntry, Part, Site

Read = Callable[[str], bytes | None]


def attach_lock(site: Site, read: Read) -> Site:
    """``site`` with its ``LockEntry`` (unchanged without a Chart.lock); ManifestError if
    the lock cannot be kept consistent."""
    lock_path = str(PurePosixPath(site.file).with_name("Chart.lock"))
    lock_data, chart_data = read(lock_path), read(site.file)
    if lock_data is None or chart_data is None:
        return site
    chart_text = decode(site.file, chart_data).text
    chart_doc = compose(site.file, chart_text)[0]
    requested_nodes = _entries(chart_doc, "dependencies", site.file)
    requested = [_plain(node) for node in requested_nodes]
    index = next(
        (
            i
            for i, node in enumerate(requested_nodes)
            if _version_at(chart_text, node) == site.start
        ),
        None,
    )
    if index is None:
        raise ManifestError(f"{site.file}:{site.line}: not a dependency's version")
    lock_text = decode(lock_path, lock_data).text
    lock_doc = compose(lock_path, lock_text)[0]
    locked_nodes = _entries(lock_doc, "dependencies", lock_path)
    locked = [_plain(node) for node in locked_nodes]
    mine = requested[index]
    lock_index = next(
        (
            i
            for i, entry in enumerate(locked)
            if entry.get("name") == mine.get("name")
            and entry.get("repository") == mine.get("repository")
        ),
        None,
    )
    if lock_index is None:
        raise ManifestError(
            f"{lock_path}: no entry for {mine.get('name')}; run helm dependency update"
        )
    walked = {id(s.node): s for s in scalars(lock_path, lock_text, lock_doc)}
    digest_node = mapping_get(lock_doc, "digest")
    version_node = mapping_get(locked_nodes[lock_index], "version")
    digest_scalar = walked.get(id(digest_node))
    version_scalar = walked.get(id(version_node))
    if digest_scalar is None or version_scalar is None:
        raise ManifestError(f"{lock_path}: no digest or version to rewrite")
    try:
        expected = lock_digest(requested, locked)
    except LockError as exc:
        raise ManifestError(
            f"{lock_path}: cannot recompute its digest as Helm does ({exc}); update the"
            " dependency with helm dependency update"
        ) from exc
    if expected != digest_scalar.value:
        raise ManifestError(
            f"{lock_path}: its digest is not what Helm computes for {site.file} (out of date);"
            " run helm dependency update, then automator keeps it in step"
        )
    entry = LockEntry(
        lock_path,
        json.dumps(requested),
        json.dumps(locked),
        index,
        lock_index,
        _site(site, lock_path, version_scalar, Part.TAG),
        _site(site, lock_path, digest_scalar, Part.DIGEST),
    )
    return replace(site, lock=entry)


def _entries(document: Node, key: str, path: str) -> list[Node]:
    node = mapping_get(document, key)
    if not isinstance(node, SequenceNode):
        raise ManifestError(f"{path}: {key} is not a list")
    return list(node.value)


_BOOLEANS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _plain(node: Node) -> dict[str, Any]:
    data = plain_data(node)
    if not isinstance(data, dict):
        return {}
    if "enabled" in data:  # YAML 1.1 booleans, as Helm's YAML reads them
        data["enabled"] = _BOOLEANS.get(str(data["enabled"]).lower(), data["enabled"])
    return data


def _version_at(text: str, node: Node) -> int:
    version = mapping_get(node, "version")
    return -1 if version is None else value_start(text, version)


def _site(owner: Site, path: str, scalar: Scalar, part: Part) -> Site:
    return Site(
        path, scalar.line, scalar.start, scalar.end, part, scalar.value, owner.image,
        owner.policy, "lock", owner.workload, chart=owner.chart, artifact=owner.artifact,
    )  # fmt: skip
