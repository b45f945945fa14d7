"""Container images governed by workload annotations (ours, and Flux v1's for migration).

``automator.dev/policy.<container>`` wins over ``automator.dev/policy`` (every
container), which wins over Flux v1: ``fluxcd.io/automated: "true"`` (any newest
tag, ``glob:*``) narrowed by ``fluxcd.io/tag.<container>`` (or
``filter.fluxcd.io/<container>``; a pattern without a type prefix is a glob, as
in Flux v1). ``fluxcd.io/locked`` or ``fluxcd.io/ignore`` set to ``"true"`` leaves
the whole workload alone. The legacy ``flux.weave.works/`` prefix reads the same.

``automator.dev/hold.<container>: "<reason>"`` (or ``automator.dev/hold`` for every
container) holds a governed container at the tag it runs, with the reason shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.manifests.document import mapping_get, path_get, scalar_get

OUR_PREFIX = "automator.dev/policy"
HOLD_PREFIX = "automator.dev/hold"
FLUX_PREFIXES = ("fluxcd.io/", "flux.weave.works/")
FLUX_PATTERN_TYPES = ("semver:", "glob:", "regex:", "regexp:")
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    **{
        kind: ("spec", "template", "spec")
        for kind in (
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Job",
            "ReplicationController",
            "Rollout",
        )
    },
}


@dataclass(frozen=True, slots=True)
class Container:
    """One container of a workload and what its annotations decide for it."""

    workload: str  # "Deployment/api"
    name: str
    image: Node | None  # the image value node (the scan looks up its position)
    policy: str  # "" when no annotation covers it
    origin: str  # annotation | flux-v1
    refusal: str  # non-empty: covered, but left alone for this reason
    key: str = ""  # the annotation that gave the policy
    hold: str = ""  # the reason of the hold annotation that covers it, if any
    hold_key: str = ""  # that annotation


@dataclass(frozen=True, slots=True)
class Stray:
    """An annotation that governs nothing, and why."""

    line: int
    reason: str
    fix: str  # what to do about it (every stray is a slip ``automator check`` refuses)


def containers(document: Node) -> tuple[list[Container], list[Stray]]:
    """Every container of a pod-template workload, with its policy; and useless annotations."""
    kind = scalar_get(document, "kind") or ""
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return [], []
    metadata = mapping_get(document, "metadata")
    workload = f"{kind}/{scalar_get(metadata, 'name') or '?'}"
    annotations = _annotations(mapping_get(metadata, "annotations"))
    pod_spec = path_get(document, *path)
    found = list(_containers(workload, pod_spec, annotations))
    strays = _strays(annotations, {container.name for container in found})
    if len(path) > 1:  # a Pod's own metadata is where its annotations belong
        strays += _misplaced(workload, path_get(document, *path[:-1], "metadata"))
    return found, strays


def _annotations(node: Node | None) -> dict[str, tuple[str, int]]:
    if not isinstance(node, MappingNode):
        return {}
    return {
        key.value: (value.value, key.start_mark.line + 1)
        for key, value in node.value
        if isinstance(key, ScalarNode) and isinstance(value, ScalarNode)
    }


def _containers(
    workload: str, pod_spec: Node | None, annotations: dict[str, tuple[str, int]]
) -> Iterator[Container]:
    locked = _flux_flag(annotations, "locked") or _flux_flag(annotations, "ignore")
    for list_key in CONTAINER_LISTS:
        items = mapping_get(pod_spec, list_key)
        if not isinstance(items, SequenceNode):
            continue
        for item in items.value:
            name = scalar_get(item, "name") or ""
            policy, origin, key = _policy(annotations, name)
            refusal = f"workload locked by {locked}" if policy and locked else ""
            image = mapping_get(item, "image")
            hold_key = next(
                (k for k in (f"{HOLD_PREFIX}.{name}", HOLD_PREFIX) if k in annotations), ""
            )
            hold = annotations[hold_key][0].strip() if hold_key else ""
            yield Container(workload, name, image, policy, origin, refusal, key, hold, hold_key)


def _policy(annotations: dict[str, tuple[str, int]], container: str) -> tuple[str, str, str]:
    for key in (f"{OUR_PREFIX}.{container}", OUR_PREFIX):
        if key in annotations:
            return annotations[key][0], "annotation", key
    for prefix in FLUX_PREFIXES:
        if annotations.get(f"{prefix}automated", ("",))[0] != "true":
            continue
        pattern = _flux_pattern(annotations, prefix, container)
        key = f"{prefix}automated"
        if pattern is None:
            return "glob:*", "flux-v1", key
        policy = pattern if pattern.startswith(FLUX_PATTERN_TYPES) else f"glob:{pattern}"
        return policy, "flux-v1", key
    return "", "", ""


def _flux_pattern(
    annotations: dict[str, tuple[str, int]], prefix: str, container: str
) -> str | None:
    for key in (f"{prefix}tag.{container}", f"filter.{prefix}{container}"):
        if key in annotations:
            return annotations[key][0]
    return None


def _flux_flag(annotations: dict[str, tuple[str, int]], flag: str) -> str:
    for prefix in FLUX_PREFIXES:
        if annotations.get(f"{prefix}{flag}", ("",))[0] == "true":
            return f"{prefix}{flag}"
    return ""


def _strays(annotations: dict[str, tuple[str, int]], names: set[str]) -> list[Stray]:
    strays: list[Stray] = []
    automated = any(
        annotations.get(f"{prefix}automated", ("",))[0] == "true" for prefix in FLUX_PREFIXES
    )
    for key, (value, line) in annotations.items():
        container = _named_container(key)
        if container is None:
            continue
        if container not in names:
            known = ", ".join(sorted(names)) or "none"
            fix = f"name one of its containers ({known})"
            strays.append(Stray(line, f"{key} names no container of this workload", fix))
        elif key.startswith(HOLD_PREFIX) and not value.strip():
            strays.append(Stray(line, f"{key} is empty", "write the reason for the hold"))
        elif key.startswith(OUR_PREFIX) and not value.strip():
            reason = f"{key} is empty; write a policy such as semver:~1.4"
            strays.append(Stray(line, reason, "write a policy, or off"))
        elif not key.startswith((OUR_PREFIX, HOLD_PREFIX)) and not automated:
            reason = f'{key} has no effect without fluxcd.io/automated: "true"'
            strays.append(Stray(line, reason, "add that annotation, or remove this one"))
    if OUR_PREFIX in annotations and not annotations[OUR_PREFIX][0].strip():
        fix = "write a policy such as semver:~1.4, or off"
        strays.append(Stray(annotations[OUR_PREFIX][1], f"{OUR_PREFIX} is empty", fix))
    if HOLD_PREFIX in annotations and not annotations[HOLD_PREFIX][0].strip():
        fix = "write the reason for the hold"
        strays.append(Stray(annotations[HOLD_PREFIX][1], f"{HOLD_PREFIX} is empty", fix))
    return strays


def _misplaced(workload: str, template_metadata: Node | None) -> list[Stray]:
    """Our annotations on the pod template's metadata: a common slip that governs nothing."""
    found = _annotations(mapping_get(template_metadata, "annotations"))
    return [
        Stray(line, f"{key} is on the pod template of {workload}, where it governs nothing",
              f"move it to {workload}'s own metadata.annotations")
        for key, (_, line) in found.items()
        if key in (OUR_PREFIX, HOLD_PREFIX) or key.startswith((f"{OUR_PREFIX}.", f"{HOLD_PREFIX}."))
    ]  # fmt: skip


def _named_container(key: str) -> str | None:
    """The container an annotation key names, or None when it names none."""
    for ours in (OUR_PREFIX, HOLD_PREFIX):
        if key.startswith(f"{ours}."):
            return key[len(ours) + 1 :]
    for prefix in FLUX_PREFIXES:
        if key.startswith(f"{prefix}tag."):
            return key[len(prefix) + 4 :]
        if key.startswith(f"filter.{prefix}"):
            return key[len(prefix) + 7 :]
    return None
