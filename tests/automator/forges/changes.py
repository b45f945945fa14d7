"""Changes for tests, built the way the planner builds them."""

from __future__ import annotations

from automator.model import Change, Part, Site
from automator.reference import parse_reference


def change(
    file: str = "clusters/prod/api.yaml",
    old: str = "ghcr.io/acme/api:1.4.2",
    new: str = "ghcr.io/acme/api:1.4.3",
    *,
    workload: str = "Deployment/api",
    container: str = "api",
    policy: str = "semver:~1.4",
    reason: str = "highest of 12 tags in ~1.4",
) -> Change:
    image = parse_reference(old)
    site = Site(
        file=file,
        line=7,
        start=0,
        end=len(old),
        part=Part.REFERENCE,
        value=old,
        image=image,
        policy=policy,
        origin="annotation",
        workload=workload,
        container=container,
    )
    return Change(site, old, new, parse_reference(new), reason)
