"""Resolve Sites against tags and decide the Changes: pure, printable, testable.

Given the Sites a scan found and the tags each image repository has, ``build_plan``
asks the policy of every Site which tag should run and turns each answer into a
Change, or a Skip with its reason. Nothing here does I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence

import policies
from automator.errors import AutomatorError, EditError, ReferenceError_
from automator.manifests import edit_file
from automator.model import Change, Part, Plan, Site, Skip
from automator.reference import ImageRef

TagsResult = list[str] | AutomatorError


def build_plan(
    sites: Sequence[Site],
    tags: Mapping[str, TagsResult],
    read: Callable[[str], bytes],
    *,
    skipped: Sequence[Skip] = (),
) -> Plan:
    """Decide a Change for every Site whose policy picks another tag, and edit the files.

    ``tags`` maps a canonical repository name to its tags (or the error that listing
    them raised); ``read`` returns the current bytes of a file.
    """
    changes: list[Change] = []
    skips = list(skipped)
    for site in sites:
        outcome = _decide(site, tags.get(site.image.canonical_name))
        if isinstance(outcome, Change):
            changes.append(outcome)
        elif outcome is not None:
            skips.append(outcome)
    files: dict[str, bytes] = {}
    kept: list[Change] = []
    for path in sorted({c.site.file for c in changes}):
        mine = [c for c in changes if c.site.file == path]
        try:
            files[path] = edit_file(path, read(path), mine)
        except EditError as exc:
            skips.append(Skip(path, str(exc), True))
            continue
        kept.extend(mine)
    return Plan(changes=tuple(kept), skipped=tuple(skips), sites=len(sites), files=files)


def _decide(site: Site, tags: TagsResult | None) -> Change | Skip | None:
    if tags is None:
        return Skip(site.where, f"{site.image.canonical_name}: tags were not listed", True)
    if isinstance(tags, AutomatorError):
        return Skip(site.where, str(tags), True)
    try:
        policy = policies.parse_policy(site.policy, flux_v1=site.origin == "flux-v1")
    except policies.PolicyError as exc:
        return Skip(site.where, f"policy {site.policy!r}: {exc}", True)
    decision = policies.select_tag(policy, tags, site.image.tag)
    if decision.tag is None:
        return Skip(site.where, f"{site.image.name}: {decision.reason}")
    if decision.tag == site.image.tag:
        return None
    try:
        image = site.image.with_tag(decision.tag)
    except ReferenceError_ as exc:
        return Skip(site.where, str(exc))
    return Change(site, site.value, _new_value(site, image), image, decision.reason)


def _new_value(site: Site, image: ImageRef) -> str:
    if site.part is Part.TAG:
        return image.tag or ""
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
