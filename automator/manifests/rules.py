"""Rules from automator.yaml: one policy for many workload containers at once.

A rule matches a container by the file it is in (path globs), its image (image
globs), the workload's kind and namespace, and the container's name; every field
left empty matches anything. Rules are tried in the order written and the first
that matches wins; a rule whose policy is ``off`` leaves what it matches alone, so
an exception goes before the broader rule. A workload annotation or a comment
marker on the scalar always beats every rule.

A rule with ``hold`` (a reason) holds every container it matches at the tag it runs,
whatever governs it (an annotation, a marker or another rule); a rule with a hold
and no policy governs nothing itself and is passed over when choosing the policy.

Globs: ``*`` matches within one path segment, ``**`` across segments, ``?`` one
character. A path glob matches the file or any directory above it, so ``apps``
and ``apps/**`` both cover ``apps/web/api.yaml``. An image glob is matched against
the repository as written (``ghcr.io/acme/api``) and in full
(``docker.io/library/nginx``), without tag or digest.

Chart versions (HelmRelease, OCIRepository, Argo CD Helm sources, ``helmCharts``,
``Chart.yaml`` dependencies) are matched only by rules that name ``charts``, and such
a rule matches no container. A chart glob is matched against the chart's name
(``web``), its location without a scheme (``charts.example.com/stable/web``,
``ghcr.io/acme/charts/web``) and its URL (``https://charts.example.com/stable/web``,
``oci://ghcr.io/acme/charts/web``); ``images`` globs see the location. The kind of a
chart target is its object's (``HelmRelease``, ``OCIRepository``, ``Application``,
``ApplicationSet``), ``Kustomization`` for ``helmCharts`` and ``Chart`` for a
``Chart.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from automator.reference import ImageRef

OFF = "off"  # the policy that opts a workload, a container or a scalar out


@dataclass(frozen=True, slots=True)
class Target:
    """What a rule can match: one container image in one workload of one file."""

    file: str  # repo-relative POSIX path
    image: ImageRef
    kind: str  # "Deployment"
    namespace: str  # "" when the manifest names none
    container: str
    charts: tuple[str, ...] = ()  # a chart version: its name, location and URL (see above)


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of ``rules:``: what it matches and the policy it gives (``off``: none)."""

    name: str  # "apps", or "rules[2]" when the entry has no name
    policy: str  # the whole policy string, options included: "semver:^1;min-age=24h"
    paths: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    hold: str = ""  # the reason: what the rule matches is held at the tag it runs
    charts: tuple[str, ...] = ()  # chart globs: the rule governs chart versions, not containers

    def matches(self, target: Target) -> bool:
        """True when every non-empty field of the rule matches ``target``."""
        if bool(self.charts) != bool(target.charts):
            return False  # a chart rule matches chart versions only, other rules containers
        return (
            _any_path(self.paths, target.file)
            and (
                not self.charts
                or any(_glob(g).fullmatch(n) for g in self.charts for n in target.charts)
            )
            and _any_image(self.images, target.image)
            and (not self.kinds or target.kind in self.kinds)
            and (not self.namespaces or target.namespace in self.namespaces)
            and (
                not self.containers
                or any(_glob(g).fullmatch(target.container) for g in self.containers)
            )
        )


def first_match(rules: Sequence[Rule], target: Target) -> Rule | None:
    """The first rule with a policy that matches ``target``, or None."""
    return next((rule for rule in rules if rule.policy and rule.matches(target)), None)


def first_hold(rules: Sequence[Rule], target: Target) -> Rule | None:
    """The first rule with a hold that matches ``target``, whatever governs it, or None."""
    return next((rule for rule in rules if rule.hold and rule.matches(target)), None)


def _any_path(globs: tuple[str, ...], file: str) -> bool:
    if not globs:
        return True
    path = PurePosixPath(file)
    candidates = [file, *(str(parent) for parent in path.parents if str(parent) != ".")]
    return any(_glob(g.strip("/")).fullmatch(c) for g in globs for c in candidates)


def _any_image(globs: tuple[str, ...], image: ImageRef) -> bool:
    if not globs:
        return True
    names = (image.name, image.canonical_name)
    return any(_glob(g).fullmatch(name) for g in globs for name in names)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: ``**`` any characters, ``*`` any but ``/``, ``?`` one."""
    out = []
    for token in re.split(r"(\*\*/?|\*|\?)", pattern):
        if token in ("**", "**/"):
            out.append("(?:.*/)?" if token == "**/" else ".*")
        elif token == "*":
            out.append("[^/]*")
        elif token == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out))
