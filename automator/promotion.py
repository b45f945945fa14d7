"""Promotion between environments: ``promote-from=<path or Kind/name>;after=24h``.

A Site with ``promote-from`` takes the tag that another Site (staging) runs, once
staging has carried it for ``after``, according to the config repo's Git history:
the date of the commit that gave staging that tag (the oldest of the run of commits
in which it had it) starts the soak. Any replica reads the same history. The tag
must still satisfy the Site's own policy (the plan checks it, ``automator.plan``).

``promote-from`` names a file (``clusters/staging/api.yaml``: its Site of the same
repository) or a workload (``Deployment/api``, or ``clusters/staging/Deployment/api``)
among the source's Sites. Exactly one Site of the same repository must match.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import policies
from automator.fields import Find, field_history, field_keys
from automator.git import Snapshot
from automator.manifests import find_image_scalars
from automator.manifests.rules import Rule
from automator.model import Promotion, Site


def promotions(
    snapshot: Snapshot, sites: Sequence[Site], *, now: datetime, rules: Sequence[Rule] = ()
) -> tuple[Site, ...]:
    """``sites``, each ``promote-from`` one with its ``Promotion``."""
    out = []
    for site in sites:
        try:
            policy = policies.parse_policy(site.policy, flux_v1=site.origin == "flux-v1")
        except policies.PolicyError:
            out.append(site)  # the plan reports it
            continue
        if policy.promote_from is None:
            out.append(site)
            continue
        promotion = _promotion(snapshot, site, sites, policy, now, rules)
        out.append(replace(site, promotion=promotion))
    return tuple(out)


def _promotion(
    snapshot: Snapshot,
    site: Site,
    sites: Sequence[Site],
    policy: policies.Policy,
    now: datetime,
    rules: Sequence[Rule],
) -> Promotion:
    wanted = policy.promote_from or ""
    found, others, find = _sources(snapshot, site, sites, wanted)
    if len(found) != 1:
        what = "no Site" if not found else f"{len(found)} Sites"
        return Promotion(
            wanted, problem=f"{what} of {site.image.name} at {wanted}; name exactly one"
        )
    (source,) = found
    key = field_keys(others)[id(source)]
    history = field_history(snapshot, source.file, rules, find)
    since = None
    for version, values in history:
        if values.get(key) != source.image.tag:
            break
        since = version
    if since is None:
        return Promotion(source.where, source.image.tag, problem="its history could not be read")
    start = datetime.fromtimestamp(since.time, UTC)
    until = start + policy.promote_after
    return Promotion(
        source.where, source.image.tag, since.commit, _iso(start), _iso(until), now >= until
    )


def _sources(
    snapshot: Snapshot, site: Site, sites: Sequence[Site], wanted: str
) -> tuple[list[Site], Sequence[Site], Find | None]:
    """The Sites ``wanted`` names, of ``site``'s repository; the file's Sites they are among;
    and how to find them in that file's history (None: as the scan does)."""
    name = site.image.canonical_name
    if wanted.endswith((".yaml", ".yml")):  # any image there, automated or not
        try:
            data = snapshot.read(wanted.strip("/"))
        except KeyError:
            return [], (), None
        every = find_image_scalars(wanted.strip("/"), data)
        return [s for s in every if s.image.canonical_name == name], every, find_image_scalars
    found = [
        s
        for s in sites
        if s is not site
        and s.image.canonical_name == name
        and wanted in (s.workload, f"{posixpath.dirname(s.file)}/{s.workload}")
    ]
    return found, [s for s in sites if found and s.file == found[0].file], None


def _iso(when: datetime) -> str:
    return (when - timedelta(microseconds=when.microsecond)).strftime("%Y-%m-%dT%H:%M:%SZ")
