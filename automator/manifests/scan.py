"""Scanning a config repo's files for Sites: the pure entry point the engine calls.

The scan gets ``(path, bytes)`` pairs, never opens a file, and runs in two
passes: Flux ImagePolicy/ImageRepository objects first (a marker may name one
defined in any file), then the sites. A byte-regex prefilter keeps files that
cannot hold a policy away from the parser.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from ruamel.yaml.nodes import Node

from automator.errors import ManifestError
from automator.manifests.argo import ArgoObjects
from automator.manifests.chartlock import Read, attach_lock
from automator.manifests.document import compose, decode, template_key
from automator.manifests.fluxv2 import FluxObjects
from automator.manifests.locate import image_scalars, policy_sites
from automator.manifests.rules import Rule
from automator.model import Site, Skip

logger = logging.getLogger(__name__)

MAX_BYTES = 5 << 20
# a file without one of these words cannot put any scalar under a policy
_POLICY_WORDS = re.compile(
    rb"automator|\$imagepolicy|fluxcd\.io/|flux\.weave\.works/|argoproj\.io/"
)
# with rules, any file with a container image (or chart versions) may hold a Site
_RULED_WORDS = re.compile(_POLICY_WORDS.pattern + rb"|image|helmCharts|dependencies")
_FLUX_OBJECTS = re.compile(rb"(?:image|source)\.toolkit\.fluxcd\.io/")
_ARGO_OBJECTS = re.compile(rb"argoproj\.io/")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Every Site found, every file or marker left alone (with why), and how many files."""

    sites: tuple[Site, ...]
    skipped: tuple[Skip, ...]
    files_scanned: int  # YAML files looked at
    files_parsed: int = 0  # of those, files the YAML parser read (the rest held no policy word)


def is_manifest_path(path: str) -> bool:
    """True for a repo-relative POSIX YAML path (``*.yaml``, ``*.yml``, ``kustomization``).

    Absolute paths and paths with ``..`` are never manifests.
    """
    if not _safe_path(path):
        return False
    name = PurePosixPath(path).name
    return name.lower().endswith(_SUFFIXES) or name.lower() == "kustomization"


def _safe_path(path: str) -> bool:
    if not path or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    return ".." not in PurePosixPath(path).parts


def find_flux_objects(
    files: Iterable[tuple[str, bytes]], flux: FluxObjects | None = None
) -> FluxObjects:
    """The Flux image objects in ``files`` (any path: they need not be under ``paths``).

    A file that cannot be parsed is passed over here; the site scan reports it when it
    lies under the source's paths.
    """
    flux = FluxObjects() if flux is None else flux
    for path, data in files:
        if not is_manifest_path(path) or not _FLUX_OBJECTS.search(data):
            continue
        try:
            _, documents = _parse(path, data)
        except ManifestError as exc:
            logger.debug("%s: not read for Flux objects: %s", path, exc)
            continue
        for document in documents:
            flux.add(document, path)
    return flux


def scan_files(
    files: Iterable[tuple[str, bytes]],
    *,
    max_bytes: int = MAX_BYTES,
    flux: FluxObjects | None = None,
    read: Callable[[str], bytes | None] | None = None,
    repo_url: str | None = None,
    rules: Sequence[Rule] = (),
) -> ScanResult:
    """Find every Site in ``files`` (repo-relative POSIX paths and their bytes).

    ``flux`` holds Flux objects found elsewhere in the source (``find_flux_objects``);
    objects in ``files`` are added to it. With ``flux.selected`` set, ``$imagepolicy``
    markers of other ImagePolicies are left alone (an ImageUpdateAutomation's
    ``policySelector``). ``read`` fetches any file of the repo by path (None when
    absent): Argo CD Image Updater targets may lie outside ``files``; without it only
    ``files`` are seen. ``repo_url`` is the repo's Git URL: Argo Applications of other
    repos are skipped. ``rules`` (from automator.yaml) govern the workload containers no
    annotation covers.
    """
    words = _RULED_WORDS if rules else _POLICY_WORDS
    pending: list[tuple[str, bytes]] = []
    skipped: list[Skip] = []
    flux = FluxObjects() if flux is None else flux
    argo = ArgoObjects()
    seen: dict[str, bytes] = {}
    listed: list[str] = []
    parsed: dict[str, tuple[str, list[Node]]] = {}
    scanned = parses = 0
    for path, data in files:
        if not is_manifest_path(path):
            if not _safe_path(path):
                skipped.append(Skip(path, "not a repo-relative path; refused"))
            continue
        scanned += 1
        listed.append(path)
        if read is None:
            seen[path] = data
        if len(data) > max_bytes:
            skipped.append(Skip(path, f"larger than {max_bytes} bytes"))
            continue
        if b"\x00" in data[:8192]:
            skipped.append(Skip(path, "binary content (NUL byte)"))
            continue
        if not words.search(data):
            continue  # counted, never parsed: nothing in it names a policy
        parses += 1
        if _FLUX_OBJECTS.search(data) or _ARGO_OBJECTS.search(data):
            try:
                parsed[path] = text, documents = _parse(path, data)
            except ManifestError as exc:
                skipped.append(_skip(path, exc))
                continue
            for document in documents:
                flux.add(document, path)
                argo.add(path, document)
        pending.append((path, data))
    sites: list[Site] = []
    for path, data in pending:
        try:
            text, documents = parsed.pop(path) if path in parsed else _parse(path, data)
            found, refused = policy_sites(path, text, documents, flux, rules)
        except ManifestError as exc:
            skipped.append(_skip(path, exc))
            continue
        sites.extend(found)
        skipped.extend(refused)
    found, refused = argo.sites(read or seen.get, repo_url, listed)
    sites.extend(found)
    skipped.extend(refused)
    sites = _with_locks(sites, skipped, read or seen.get)
    files_scanned = scanned
    logger.debug("scanned %d files: %d sites, %d skipped", files_scanned, len(sites), len(skipped))
    return ScanResult(tuple(sites), tuple(skipped), files_scanned, parses)


def _with_locks(sites: list[Site], skipped: list[Skip], read: Read) -> list[Site]:
    """Chart.yaml dependencies with their Chart.lock (``manifests.chartlock``)."""
    out = []
    for site in sites:
        if site.workload.startswith("dependencies/"):
            try:
                site = attach_lock(site, read)
            except ManifestError as exc:
                skipped.append(Skip(site.where, str(exc), site=site))
                continue
        out.append(site)
    return out


def find_image_scalars(path: str, data: bytes) -> list[Site]:
    """Every image-bearing scalar in one file, with or without a policy (policy '').

    For checks and tests; raises ManifestError when the file cannot be scanned.
    """
    text, documents = _parse(path, data)
    return image_scalars(path, text, documents)


def _parse(path: str, data: bytes) -> tuple[str, list[Node]]:
    decoded = decode(path, data)
    documents = compose(path, decoded.text)
    for document in documents:
        key = template_key(document)
        if key is not None:
            raise ManifestError(
                f"{path}:{key.start_mark.line + 1}: a mapping used as a key; "
                "a Helm/Go template ({{ }}) is not YAML"
            )
    return decoded.text, documents


def _skip(path: str, exc: ManifestError) -> Skip:
    """A Skip at ``path`` or ``path:line``, whichever the error names."""
    match = re.match(rf"{re.escape(path)}(:\d+)?: ", str(exc))
    if match is None:
        return Skip(path, str(exc))
    return Skip(path + (match.group(1) or ""), str(exc)[match.end() :])
