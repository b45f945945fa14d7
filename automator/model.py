"""The values that flow between stages: Site, Change, Plan.

A Site is one place in the config repo that holds an image (or part of one) and a
policy that says how to move it. A Change is a decision to rewrite one Site. A
Plan is every Change of one reconcile plus every Site that was looked at and left
alone, each with its reason. All are frozen: stages never share mutable state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from automator.reference import ImageRef


class Part(StrEnum):
    """Which part of an image reference a scalar holds."""

    REFERENCE = "reference"  # name[:tag][@digest]
    TAG = "tag"  # tag only (Helm values, kustomize newTag)
    NAME = "name"  # repository only (Helm repository, kustomize newName)
    DIGEST = "digest"  # digest only


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry of an Argo CD parameter-override file that is not written yet.

    The write stage adds it (creating the file when absent) in Argo CD Image
    Updater's own format: ``kustomize.images`` or ``helm.parameters``.
    """

    kind: str  # "kustomize" or "helm"
    keys: tuple[str, ...] = ()  # helm: (name, tag) parameter names, or (spec,)
    prefix: str = ""  # kustomize: "<kustomize-image-name>=" when the image is renamed


@dataclass(frozen=True, slots=True)
class ChartSource:
    """Where a chart version's candidates come from: a classic Helm repository and a chart."""

    repo_url: str  # the HelmRepository's spec.url
    name: str  # the chart's name in the repository's index.yaml


@dataclass(frozen=True, slots=True)
class LockEntry:
    """A Chart.yaml dependency's place in the ``Chart.lock`` beside it.

    ``requested`` and ``locked`` are JSON lists of every dependency of both files (what
    Helm hashes); ``version`` and ``digest`` are the lock's scalars to rewrite.
    """

    file: str  # the Chart.lock
    requested: str
    locked: str
    index: int  # this dependency in ``requested``
    lock_index: int  # and in ``locked``
    version: Site
    digest: Site


@dataclass(frozen=True, slots=True)
class Hold:
    """A person's decision that keeps a Site (or some of its versions) where it is."""

    reason: str  # in the person's words
    by: str  # where it was decided: an annotation key, "marker", "rule <name>", a PR, a commit
    kind: str = "hold"  # hold | declined | rollback


@dataclass(frozen=True, slots=True)
class Promotion:
    """Where a ``promote-from`` Site takes its tag from, and since when that tag runs there."""

    source: str  # "file:line" of the Site promoted from
    tag: str | None = None  # the tag it runs
    commit: str = ""  # the commit that gave it that tag
    since: str = ""  # that commit's date, ISO 8601 UTC
    until: str = ""  # when the soak ends
    ready: bool = False  # the soak is over
    problem: str = ""  # why nothing can be promoted (no such Site, ...); a person must act

    def chain(self) -> str:
        """``clusters/staging/api.yaml:12 got 1.5.0 in commit abc on <date>; soak ends <date>``."""
        ends = "ended" if self.ready else "ends"
        return (
            f"{self.source} got {self.tag} in commit {self.commit[:12]} on {self.since};"
            f" soak {ends} {self.until}"
        )


@dataclass(frozen=True, slots=True)
class Site:
    """One scalar in one file that holds an image (or part of one) under a policy."""

    file: str  # repository-relative POSIX path
    line: int  # 1-based line of the scalar
    start: int  # character offset of the scalar (quotes included) in the BOM-less text
    end: int  # character offset just past the scalar
    part: Part
    value: str  # the scalar's current value, as YAML reads it
    image: ImageRef  # the whole reference this Site resolves to now
    policy: str  # the policy string that governs it
    origin: str  # where the policy came from: annotation, marker, flux-v1, imagepolicy
    workload: str = ""  # "Deployment/api" when the Site is in a workload
    container: str = ""  # container name when the Site is a container image
    prefix: str = ""  # text before the part in the scalar ("web=" in an Argo kustomize override)
    create: NewEntry | None = None  # no scalar yet: the write stage adds this entry
    governed_by: str = ""  # the annotation key or "rule <name>" that gave the policy, if any
    chart: ChartSource | None = None  # a chart version: ``image`` only names it for messages
    artifact: bool = False  # an OCI chart (or artifact): its links are its manifest's annotations
    lock: LockEntry | None = None  # a Chart.yaml dependency: its Chart.lock moves with it
    hold: Hold | None = None  # held where it is: no change is planned
    promotion: Promotion | None = None  # promote-from: the tag and soak of the Site it follows

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Change:
    """Rewrite ``site``'s scalar from ``old`` to ``new`` (values, not YAML text)."""

    site: Site
    old: str
    new: str
    image: ImageRef  # the whole reference after the change
    reason: str  # why this tag won, in one line

    def describe(self) -> str:
        old_tag = self.site.image.tag or self.site.image.digest or ""
        new_tag = self.image.tag or self.image.digest or ""
        return (
            f"{self.site.image.name} {old_tag} -> {new_tag} in {self.site.file}"
            f" ({self.site.policy})"
        )


@dataclass(frozen=True, slots=True)
class Skip:
    """A Site, file or marker that was looked at and left alone, and why."""

    where: str  # "file:line" or "file" or an image name
    reason: str
    error: bool = False  # True when a person must act (unreachable registry, bad policy)
    site: Site | None = None  # the Site left alone, when the skip is about one
    fix: str = ""  # set for a slip in the config repo, which ``check`` refuses: what to do
    hold: Hold | None = None  # the decision that left the Site alone, when a person made one


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one reconcile decided: the changes, and what it left alone."""

    changes: tuple[Change, ...] = ()
    skipped: tuple[Skip, ...] = ()
    sites: int = 0
    current: tuple[Site, ...] = ()  # Sites already at the tag their policy picks
    files: dict[str, bytes] = field(default_factory=dict, compare=False)

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def errors(self) -> tuple[Skip, ...]:
        return tuple(s for s in self.skipped if s.error)
