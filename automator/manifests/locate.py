"""Sites in one parsed file: annotations, comment markers, and image-shaped scalars.

Precedence at one scalar: a comment marker (ours or Flux's) wins over a workload
annotation. A hold (``automator.dev/hold.<container>``, ``# automator: hold <reason>``,
a rule's ``hold``) keeps the Site's policy and marks it held; the plan leaves it
alone. A site reached through an alias, or a multi-line / block scalar, is reported
as a Skip instead of a Site: editing it in place is not possible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from ruamel.yaml.nodes import Node

from automator.errors import ManifestError, ReferenceError_
from automator.manifests.chartapps import app_targets
from automator.manifests.chartrules import chart_target
from automator.manifests.document import mapping_get, scalar_get
from automator.manifests.fluxv2 import FluxObjects
from automator.manifests.helmrelease import Release, chart_image, is_exact, release_of
from automator.manifests.images import flux_image_for, image_for, part_for
from automator.manifests.markers import Marker, find_markers
from automator.manifests.rules import OFF, Rule, Target, first_hold, first_match
from automator.manifests.walk import Scalar, scalars
from automator.manifests.workloads import Container, containers
from automator.model import Hold, Part, Site, Skip
from automator.reference import REFERENCE_RE

HOLD = "hold"  # ``# automator: hold <reason>``


@dataclass(slots=True)
class Found:
    """What one file holds: sites by value offset, and what was refused."""

    path: str
    sites: dict[int, Site] = field(default_factory=dict)
    skipped: list[Skip] = field(default_factory=list)

    def refuse(self, line: int, reason: str, *, fix: str = "", error: bool = False) -> None:
        """Leave ``line`` alone; ``fix`` says what to do when it is a slip ``check`` refuses;
        ``error`` makes it a failure (the plan exits 2)."""
        self.skipped.append(Skip(f"{self.path}:{line}", reason, error, fix=fix))

    def offer(
        self,
        scalar: Scalar,
        part: Part,
        policy: str,
        origin: str,
        hold: Hold | None = None,
        **extra: str,
    ) -> None:
        """Record a site at ``scalar`` unless it cannot be edited in place."""
        problem = editable_problem(scalar)
        if problem:
            self.refuse(scalar.line, problem)
            return
        repository = extra.pop("flux_image", None)
        try:
            if repository is not None:
                image = flux_image_for(scalar, part, repository)
            else:
                image = image_for(scalar, part)
        except ManifestError as exc:
            self.refuse(scalar.line, str(exc), fix="give the policy a scalar that holds an image")
            return
        previous = self.sites.get(scalar.start)  # a marker keeps the annotation's workload
        workload = extra.get("workload") or (previous.workload if previous else "")
        container = extra.get("container") or (previous.container if previous else "")
        governed_by = extra.get("governed_by", "")
        hold = hold or (previous.hold if previous else None)  # a marker keeps the workload's hold
        site = Site(
            self.path, scalar.line, scalar.start, scalar.end, part, scalar.value, image,
            policy, origin, workload, container, governed_by=governed_by, hold=hold,
        )  # fmt: skip
        self.sites[scalar.start] = site


def editable_problem(scalar: Scalar) -> str:
    """Why ``scalar`` cannot be rewritten in place, or '' when it can."""
    if scalar.via_alias:
        return "reached through an alias (or anchored and aliased); edit the anchor by hand"
    if scalar.node.style in ("|", ">"):
        return "a block scalar cannot be edited in place"
    if scalar.node.start_mark.line != scalar.node.end_mark.line:
        return "a multi-line scalar cannot be edited in place"
    return ""


def policy_sites(
    path: str, text: str, documents: list[Node], flux: FluxObjects, rules: Sequence[Rule] = ()
) -> tuple[list[Site], list[Skip]]:
    """Sites that a policy governs: annotated (or ruled) containers and marked scalars."""
    found = Found(path)
    every: list[Scalar] = []
    taken: set[int] = set()  # chart versions: markers there name no image
    for document in documents:
        walked = scalars(path, text, document)
        every.extend(walked)
        _annotated(found, document, walked, rules)
        for release in _releases(path, document, flux):
            taken |= _chart(found, text, document, walked, release, rules)
    _marked(found, text, every, flux, taken)
    return sorted(found.sites.values(), key=lambda site: site.start), found.skipped


def _releases(path: str, document: Node, flux: FluxObjects) -> list[Release]:
    release = release_of(document, flux)
    return [release] if release is not None else app_targets(document, path)


def _chart(
    found: Found,
    text: str,
    document: Node,
    walked: list[Scalar],
    release: Release,
    rules: Sequence[Rule] = (),
) -> set[int]:
    """A chart version (or OCI tag) as a Site (``manifests.helmrelease``, ``chartapps``);
    a rule governs it when no annotation or marker does (``manifests.chartrules``)."""
    if release.version is None:
        if release.policy and release.problem:  # governed, yet nothing to move: say why
            found.refuse(document.start_mark.line + 1, release.problem)
        return set()
    scalar = next((s for s in walked if s.node is release.version), None)
    if scalar is None:
        return set()
    policy, origin, key = release.policy, "annotation", release.governed_by
    hold: Hold | None = None
    for marker in find_markers(text):
        if marker.line == scalar.line and marker.hash_at >= scalar.end:
            if marker.kind != "automator":
                found.refuse(scalar.line, "$imagepolicy markers name images, not chart versions")
                return {scalar.start}
            if marker.body.split(maxsplit=1)[:1] == [HOLD]:
                hold = Hold(marker.body[len(HOLD) :].strip(), "marker")
                continue
            policy, origin, key = marker.body, "marker", ""
    target = chart_target(found.path, document, release, scalar.value) if rules else None
    rule = first_match(rules, target) if target is not None and not policy.strip() else None
    if rule is not None:
        policy, origin, key = rule.policy, "rule", f"rule {rule.name}"
    held = first_hold(rules, target) if target is not None and hold is None else None
    if held is not None:
        hold = Hold(held.hold, f"rule {held.name}")
    policy = policy.strip()
    if hold is not None and hold.by == "marker" and (not hold.reason or policy in ("", OFF)):
        what = "names no reason" if not hold.reason else "holds a version no policy governs"
        found.refuse(scalar.line, f"'# automator: hold' {what}", fix="govern it, or drop the hold")
        return {scalar.start}
    if not policy or policy == OFF:
        return {scalar.start}
    problem = editable_problem(scalar) or release.problem
    image = None
    if not problem and release.exact and not is_exact(scalar.value):
        problem = f"{release.kind} {release.name}: version {scalar.value!r} is a range"
        problem += f", which {release.resolver} resolves itself; left alone"
    if not problem and release.image is not None:
        try:
            image = release.image.with_tag(scalar.value)
        except ReferenceError_ as exc:
            problem = f"{release.kind} {release.name}: {exc}"
    elif not problem and release.source is not None:
        image = chart_image(release.source, scalar.value)
    if problem or image is None:
        found.refuse(scalar.line, problem or f"{release.workload}: no source to list")
        return {scalar.start}
    found.sites[scalar.start] = Site(
        found.path, scalar.line, scalar.start, scalar.end, Part.TAG, scalar.value, image,
        policy, origin, release.workload, governed_by=key, chart=release.source, hold=hold,
        artifact=release.image is not None,
    )  # fmt: skip
    return {scalar.start}


def image_scalars(path: str, text: str, documents: list[Node]) -> list[Site]:
    """Every image-bearing scalar, governed or not (policy ''): for checks and tests."""
    found = Found(path)
    every: list[Scalar] = []
    for document in documents:
        walked = scalars(path, text, document)
        every.extend(walked)
        for scalar in walked:
            part = _structural_part(scalar)
            if part is not None:
                found.offer(scalar, part, "", "structure")
    _marked(found, text, every, None)
    return sorted(found.sites.values(), key=lambda site: site.start)


def _structural_part(scalar: Scalar) -> Part | None:
    parent, key, value = scalar.parent, scalar.key, scalar.value
    if parent is None or key is None:
        return None
    if scalar.slot == "images" and scalar_get(parent, "name") is not None:
        if key in ("newTag", "newName", "digest"):
            return part_for(scalar)
        return None
    if key == "image":
        if REFERENCE_RE.fullmatch(value) is None:
            return None
        return part_for(scalar)
    if key == "tag" and (scalar_get(parent, "repository") or scalar_get(parent, "image")):
        return Part.TAG
    if key == "repository" and scalar_get(parent, "tag") is not None:
        return Part.NAME
    return None


def _annotated(found: Found, document: Node, walked: list[Scalar], rules: Sequence[Rule]) -> None:
    listed, strays = containers(document)
    for stray in strays:
        found.refuse(stray.line, stray.reason, fix=stray.fix)
    if not listed:
        return
    by_node = {id(scalar.node): scalar for scalar in walked}
    for container in listed:
        scalar = by_node.get(id(container.image)) if container.image is not None else None
        target = _target(found.path, document, container, scalar) if rules else None
        if not container.policy and target is not None:
            container = _ruled(container, target, rules)
        if not container.policy or container.policy.strip() == OFF:
            continue
        if scalar is None:
            line = container.image.start_mark.line + 1 if container.image is not None else 0
            found.refuse(line, f"{container.workload} container {container.name!r}: no image")
            continue
        if container.refusal:
            found.refuse(scalar.line, f"{container.workload}: {container.refusal}")
            continue
        found.offer(
            scalar, Part.REFERENCE, container.policy, container.origin,
            _held(container, target, rules),
            workload=container.workload, container=container.name, governed_by=container.key,
        )  # fmt: skip


def _target(
    path: str, document: Node, container: Container, scalar: Scalar | None
) -> Target | None:
    """What rules match ``container`` by, or None when its image is not one they could move."""
    if scalar is None or editable_problem(scalar):
        return None
    try:
        image = image_for(scalar, Part.REFERENCE)
    except ManifestError:
        return None
    kind = container.workload.partition("/")[0]
    namespace = scalar_get(mapping_get(document, "metadata"), "namespace") or ""
    return Target(path, image, kind, namespace, container.name)


def _ruled(container: Container, target: Target, rules: Sequence[Rule]) -> Container:
    """``container`` under the first rule that matches it (policy '' when none does)."""
    rule = first_match(rules, target)
    if rule is None:
        return container
    return replace(container, policy=rule.policy, origin="rule", key=f"rule {rule.name}")


def _held(container: Container, target: Target | None, rules: Sequence[Rule]) -> Hold | None:
    """The hold on ``container``: its annotation's, else the first holding rule's."""
    if container.hold:
        return Hold(container.hold, container.hold_key)
    rule = first_hold(rules, target) if target is not None else None
    return Hold(rule.hold, f"rule {rule.name}") if rule is not None else None


def _marked(
    found: Found,
    text: str,
    every: Iterable[Scalar],
    flux: FluxObjects | None,
    taken: set[int] | None = None,
) -> None:
    markers = find_markers(text)
    if not markers:
        return
    by_line: dict[int, list[Scalar]] = {}
    for scalar in every:
        by_line.setdefault(scalar.node.end_mark.line + 1, []).append(scalar)
    for marker in markers:
        on_line = by_line.get(marker.line, [])
        if any(scalar.start <= marker.hash_at < scalar.end for scalar in on_line):
            continue  # the '#' is inside a quoted scalar: not a comment
        before = [scalar for scalar in on_line if scalar.end <= marker.hash_at]
        if not before:
            found.refuse(
                marker.line, "marker is not on the same line as a scalar value",
                fix="put it at the end of the line that holds the image",
            )  # fmt: skip
            continue
        target = max(before, key=lambda scalar: scalar.end)
        if taken is None or target.start not in taken:
            _mark(found, marker, target, flux)


def _hold(found: Found, marker: Marker, scalar: Scalar) -> None:
    """``# automator: hold <reason>``: hold the Site an annotation or a rule governs here."""
    reason = marker.body[len(HOLD) :].strip()
    site = found.sites.get(scalar.start)
    if not reason or site is None:
        fix = (
            "write the reason after 'hold'"
            if not reason
            else "govern the image with an annotation or a rule; the hold keeps it where it is"
        )
        what = "names no reason" if not reason else "holds an image no policy governs"
        found.refuse(marker.line, f"'# automator: hold' {what}", fix=fix)
        return
    found.sites[scalar.start] = replace(site, hold=Hold(reason, "marker"))


def _mark(found: Found, marker: Marker, scalar: Scalar, flux: FluxObjects | None) -> None:
    if marker.kind == "automator":
        if not marker.body:
            found.refuse(
                marker.line, "'# automator:' marker names no policy",
                fix="write a policy after 'automator:', or off",
            )  # fmt: skip
            return
        if marker.body.strip() == OFF:
            found.sites.pop(scalar.start, None)  # opted out: beats an annotation or a rule
            return
        if marker.body.split(maxsplit=1)[0] == HOLD:
            _hold(found, marker, scalar)
            return
        part = marker.part or part_for(scalar)
        found.offer(scalar, part, marker.body, "marker")
        return
    if marker.part is None:
        found.refuse(
            marker.line, f"$imagepolicy {marker.body!r}: field must be tag, name or digest",
            fix="end the marker with :tag, :name or :digest, or nothing for the whole image",
        )  # fmt: skip
        return
    if flux is None:  # locating only: the policy does not matter
        found.offer(scalar, marker.part, "", "imagepolicy")
        return
    try:
        target = flux.resolve(marker.body)
    except ManifestError as exc:
        # a policy that exists but cannot be used needs a person; a missing one is left alone
        broken = flux.has_policy(marker.body)
        fix = "check the ImagePolicy's namespace and name"
        found.refuse(marker.line, f"$imagepolicy {marker.body}: {exc}", fix=fix, error=broken)
        return
    if not flux.selects(target.key):
        found.refuse(marker.line, f"$imagepolicy {marker.body}: not selected by the automation")
        return
    found.offer(scalar, marker.part, target.policy, "imagepolicy", flux_image=target.image)
