"""Manifests, image indexes and platforms: reading what a registry returns.

Platforms are normalised as containerd does (``aarch64`` -> ``arm64``, ``arm64/v8``
-> ``arm64``, ``arm`` -> ``arm/v7``, ``x86_64`` -> ``amd64``), and attestation
entries (BuildKit's ``unknown/unknown`` manifests) are never chosen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_V2})
# All four, always: 2.8 hides OCI manifests without their types and rewrites a Docker v2
# manifest fetched by tag into schema1 (a different digest) without the v2 type.
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_V2])
LABEL_CREATED = "org.opencontainers.image.created"
LABEL_SOURCE = "org.opencontainers.image.source"
LABEL_REVISION = "org.opencontainers.image.revision"
_EPOCH_FLOOR = datetime(1980, 1, 2, tzinfo=UTC)  # reproducible builds write 1970 or 1980

_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386"}
_ARCH |= {"x86": "386", "armhf": "arm", "armel": "arm"}


@dataclass(frozen=True, slots=True)
class Platform:
    """``os/architecture[/variant]``, normalised."""

    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def of(cls, os: str, architecture: str, variant: str = "") -> Platform:
        os, arch, variant = os.lower(), architecture.lower(), variant.lower()
        if architecture.lower() == "armel":
            variant = variant or "v6"
        arch = _ARCH.get(arch, arch)
        if arch == "arm64" and variant in ("v8", "8"):
            variant = ""
        elif arch == "arm":
            variant = {"": "v7", "7": "v7", "6": "v6", "5": "v5", "8": "v8"}.get(variant, variant)
        elif arch == "amd64" and variant == "v1":
            variant = ""
        return cls(os, arch, variant)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/arm64``, ``linux/arm/v7``; a bare architecture means Linux."""
        parts = text.strip().split("/")
        if len(parts) == 1:
            parts = ["linux", *parts]
        return cls.of(*parts[:3])

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


DEFAULT_PLATFORM = Platform("linux", "amd64")


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What an image's config says, for policies that order by build time."""

    digest: str  # the tag's digest (an index's, when the tag names an index)
    created: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    platform: str = ""  # the platform whose config was read; "" for a single-arch image

    @property
    def source(self) -> str | None:
        return self.labels.get(LABEL_SOURCE)

    @property
    def revision(self) -> str | None:
        return self.labels.get(LABEL_REVISION)


def sha256_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def load_json(body: bytes) -> dict[str, Any]:
    """A JSON object, or ValueError."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return doc


def media_type(content_type: str | None, doc: dict[str, Any]) -> str:
    """The manifest's type: its ``mediaType`` field, else the Content-Type without params."""
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    return (content_type or "").split(";")[0].strip()


def select_platform(index: dict[str, Any], wanted: Platform) -> dict[str, Any] | None:
    """The index entry for ``wanted``: exact first, then a compatible ARM variant."""
    candidates: list[tuple[Platform, dict[str, Any]]] = []
    for entry in index.get("manifests") or []:
        if not isinstance(entry, dict) or _is_attestation(entry):
            continue
        plat = entry.get("platform")
        if not isinstance(plat, dict):
            continue
        candidates.append(
            (
                Platform.of(
                    str(plat.get("os", "")),
                    str(plat.get("architecture", "")),
                    str(plat.get("variant", "")),
                ),
                entry,
            )
        )
    for order in _compatible(wanted):
        for plat, entry in candidates:
            if plat == order:
                return entry
    if not wanted.variant:
        for plat, entry in candidates:
            if (plat.os, plat.architecture) == (wanted.os, wanted.architecture):
                return entry
    return None


def _compatible(wanted: Platform) -> list[Platform]:
    # containerd's matcher: an arm/v7 host also runs v6 and v5 images, arm64 runs v8 as "".
    if wanted.architecture == "arm" and wanted.variant in ("v8", "v7", "v6"):
        ladder = ["v8", "v7", "v6", "v5"]
        return [Platform(wanted.os, "arm", v) for v in ladder[ladder.index(wanted.variant) :]]
    return [wanted]


def _is_attestation(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    plat = entry.get("platform") or {}
    return (
        isinstance(annotations, dict)
        and annotations.get("vnd.docker.reference.type") == "attestation-manifest"
    ) or (isinstance(plat, dict) and plat.get("os") == "unknown")


def read_config(config: dict[str, Any]) -> tuple[datetime | None, dict[str, str]]:
    """(created, labels) from an image config; a fake or missing time falls back to a label."""
    inner = config.get("config") or {}
    raw_labels = inner.get("Labels") if isinstance(inner, dict) else None
    labels = (
        {str(k): v for k, v in raw_labels.items() if isinstance(v, str)}
        if isinstance(raw_labels, dict)
        else {}
    )
    created = parse_time(config.get("created"))
    if created is None or created < _EPOCH_FLOOR:
        created = parse_time(labels.get(LABEL_CREATED)) or created
    return created, labels


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 time (nanoseconds allowed) as an aware datetime, else None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Go writes nanoseconds; Python takes at most microseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
