"""``automator plan --output json``: the plan as one versioned document scripts can trust.

The document's shape is published as a JSON Schema in ``docs/plan.schema.json``
(``"version": 1``); a field is only ever added within a version. Every Site is
listed, whether it changes, is current, is skipped or failed, with its file, line,
image, current and new tag and digest, policy and where the policy came from, the
kind of update and the reason, and the hold a person placed on it, if any. Skips
that concern no single Site (a file that does not parse, a stray annotation) are
listed beside the Sites.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from automator.engine import Outcome
from automator.errors import AutomatorError
from automator.model import Change, Hold, Site, Skip
from policies.semver import try_version

VERSION = 1
# how the scan names where a policy came from -> the document's coarser origin
_ORIGINS = {"annotation": "annotation", "marker": "marker", "rule": "rule"}


def plan_document(
    outcomes: Sequence[Outcome], failures: Sequence[tuple[str, AutomatorError]]
) -> dict[str, Any]:
    """The whole plan of every source, as JSON data."""
    sources = [_source(outcome) for outcome in outcomes]
    counts = {"changed": 0, "current": 0, "skipped": 0, "failed": 0}
    for source in sources:
        for site in source["sites"]:
            counts[site["status"]] += 1
    return {
        "version": VERSION,
        "sources": sources,
        "failures": [{"source": name, "error": str(exc)} for name, exc in failures],
        "summary": {
            "sources": len(outcomes) + len(failures),
            "sources_failed": len(failures),
            "sites": sum(counts.values()),
            **counts,
        },
    }


def summary_line(document: dict[str, Any]) -> str:
    """One line for stderr: what was planned and what failed."""
    s = document["summary"]
    line = (
        f"plan: {s['sites']} sites in {s['sources']} sources: {s['changed']} to change,"
        f" {s['current']} current, {s['skipped']} skipped, {s['failed']} failed"
    )
    if s["sources_failed"]:
        line += f"; {s['sources_failed']} sources could not be planned"
    return line


def failed(document: dict[str, Any]) -> bool:
    """True when a Site or a source failed (``plan`` exits 2)."""
    s = document["summary"]
    return bool(s["failed"] or s["sources_failed"]) or any(
        skip["error"] for source in document["sources"] for skip in source["skips"]
    )


def update_type(old_tag: str | None, old_digest: str | None, new: Change) -> str:
    """major, minor, patch, digest (same tag, new digest) or other."""
    new_tag, new_digest = new.image.tag, new.image.digest
    if new_tag == old_tag:
        return "digest" if new_digest != old_digest else "other"
    before = try_version(old_tag) if old_tag else None
    after = try_version(new_tag) if new_tag else None
    if before is None or after is None:
        return "other"
    for kind, a, b in (
        ("major", before.major, after.major),
        ("minor", before.minor, after.minor),
        ("patch", before.patch, after.patch),
    ):
        if a != b:
            return kind
    return "other"


def origin(site: Site) -> str:
    """annotation, marker, rule, flux, argo or other."""
    if site.origin in _ORIGINS:
        return _ORIGINS[site.origin]
    if site.origin.startswith(("flux", "imagepolicy")):
        return "flux"
    return "argo" if site.origin.startswith("argo") else "other"


def _source(outcome: Outcome) -> dict[str, Any]:
    plan = outcome.plan
    sites = [_changed(change) for change in plan.changes]
    sites += [_site(site, "current", "the policy picks the tag it runs") for site in plan.current]
    sites += [
        _site(skip.site, "failed" if skip.error else "skipped", skip.reason, skip.hold)
        for skip in plan.skipped
        if skip.site is not None
    ]
    sites.sort(key=lambda entry: (entry["file"], entry["line"]))
    return {
        "source": outcome.source,
        "commit": outcome.commit,
        "sites": sites,
        "skips": [_skip(skip) for skip in plan.skipped if skip.site is None],
    }


def _site(site: Site, status: str, reason: str, hold: Hold | None = None) -> dict[str, Any]:
    return {
        "file": site.file,
        "line": site.line,
        "image": site.image.name,
        "workload": site.workload or None,
        "container": site.container or None,
        "current": {"tag": site.image.tag, "digest": site.image.digest},
        "new": None,
        "policy": site.policy,
        "origin": origin(site),
        "governed_by": site.governed_by or site.origin,
        "status": status,
        "update": None,
        "reason": reason,
        "hold": {"kind": hold.kind, "reason": hold.reason, "by": hold.by} if hold else None,
    }


def _changed(change: Change) -> dict[str, Any]:
    site = change.site
    entry = _site(site, "changed", change.reason)
    entry["new"] = {"tag": change.image.tag, "digest": change.image.digest}
    entry["update"] = update_type(site.image.tag, site.image.digest, change)
    return entry


def _skip(skip: Skip) -> dict[str, Any]:
    return {"where": skip.where, "reason": skip.reason, "error": skip.error}
