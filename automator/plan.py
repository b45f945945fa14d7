"""Resolve Sites against what registries hold and decide the Changes.

``build_plan`` asks the policy of every Site which tag should run and turns each
answer into a Change, or a Skip with its reason. What registries hold reaches it
through a ``Catalog`` (the seam: the engine passes one backed by the registry
client, tests pass a table), so the decisions themselves do no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Protocol

import policies
from automator.errors import AutomatorError, EditError, ReferenceError_
from automator.manifests import edit_file
from automator.model import Change, Part, Plan, Site, Skip
from automator.reference import ImageRef


class Catalog(Protocol):
    """What the registries hold, as the plan needs it."""

    def candidates(
        self, image: ImageRef, *, created: bool, platform: str | None
    ) -> Sequence[policies.Candidate] | AutomatorError:
        """The repository's tags; with ``created``, each with its build time where known."""

    def digest(self, image: ImageRef, tag: str) -> str:
        """The digest ``tag`` points at now; raises AutomatorError."""


def build_plan(
    sites: Sequence[Site],
    catalog: Catalog,
    read: Callable[[str], bytes],
    *,
    skipped: Sequence[Skip] = (),
) -> Plan:
    """Decide a Change for every Site whose policy picks another tag, and edit the files.

    ``read`` returns the current bytes of a file. A file whose edit cannot be made
    byte-exactly is left alone, with its reason.
    """
    changes: list[Change] = []
    skips = list(skipped)
    for site in sites:
        outcome = decide(site, catalog)
        if isinstance(outcome, Change):
            changes.append(outcome)
        elif outcome is not None:
            skips.append(outcome)
    files, kept, refused = apply_changes(changes, read)
    return Plan(changes=tuple(kept), skipped=(*skips, *refused), sites=len(sites), files=files)


def apply_changes(
    changes: Sequence[Change], read: Callable[[str], bytes]
) -> tuple[dict[str, bytes], list[Change], list[Skip]]:
    """Edit every file ``changes`` touch: (new contents, changes made, files refused)."""
    files: dict[str, bytes] = {}
    kept: list[Change] = []
    refused: list[Skip] = []
    for path in sorted({c.site.file for c in changes}):
        mine = [c for c in changes if c.site.file == path]
        try:
            files[path] = edit_file(path, read(path), mine)
        except EditError as exc:
            refused.append(Skip(path, str(exc), True))
            continue
        kept.extend(mine)
    return files, kept, refused


def decide(site: Site, catalog: Catalog) -> Change | Skip | None:
    """The Change ``site``'s policy asks for, a Skip saying why not, or None if current."""
    try:
        policy = policies.parse_policy(site.policy, flux_v1=site.origin == "flux-v1")
    except policies.PolicyError as exc:
        return Skip(site.where, f"policy {site.policy!r}: {exc}", True)
    found = catalog.candidates(site.image, created=policy.needs_created, platform=policy.platform)
    if isinstance(found, AutomatorError):
        return Skip(site.where, str(found), True)
    decision = policies.select_tag(policy, found, site.image.tag)
    if decision.tag is None:
        return Skip(site.where, f"{site.image.name}: {decision.reason}", decision.failed)
    digest = None
    if policy.pin_digest or site.image.digest is not None or site.part is Part.DIGEST:
        try:
            digest = catalog.digest(site.image, decision.tag)
        except AutomatorError as exc:
            return Skip(site.where, str(exc), True)
    if decision.tag == site.image.tag and digest == site.image.digest:
        return None
    try:
        image = site.image.with_tag(decision.tag, digest)
    except ReferenceError_ as exc:
        return Skip(site.where, str(exc), True)
    new = _new_value(site, image)
    if new == site.value:
        return None
    return Change(site, site.value, new, image, decision.reason)


def _new_value(site: Site, image: ImageRef) -> str:
    if site.part is Part.TAG:
        tag = image.tag or ""
        return f"{tag}@{image.digest}" if image.digest and "@" in site.value else tag
    if site.part is Part.DIGEST:
        return image.digest or ""
    if site.part is Part.NAME:
        return image.name
    return str(image)


def unified_diff(plan: Plan, read: Callable[[str], bytes]) -> str:
    """The diff a commit of ``plan`` would carry, as ``git diff`` prints it."""
    out: list[str] = []
    for path, new in sorted(plan.files.items()):
        old_lines = read(path).decode("utf-8").splitlines(keepends=True)
        new_lines = new.decode("utf-8").splitlines(keepends=True)
        out.extend(difflib.unified_diff(old_lines, new_lines, f"a/{path}", f"b/{path}"))
    return "".join(out)
