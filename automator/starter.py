"""``automator init``: a starter automator.yaml from what a config repo holds.

Pure: it gets the repo's YAML files as ``(path, bytes)`` pairs and returns the
text to write. The starter names the source, every registry an image comes from,
and a rule suggestion: one rule per major version, so each image follows the
newest release of the major it runs (``semver:^1``) and no major jump is made
without a person. Images already under an annotation or a marker are left to
them; images whose tags are not versions are listed in a comment. Writes go to
``dry-run`` until someone has read a plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from automator.errors import ManifestError
from automator.manifests import find_image_scalars, scan_files
from automator.model import Site
from policies.semver import try_version


@dataclass(frozen=True, slots=True)
class Survey:
    """What ``init`` found: every image scalar, and which are governed already."""

    images: tuple[Site, ...]
    governed: frozenset[str]  # "file:line" of the Sites a policy covers now
    files: int


def survey(files: Iterable[tuple[str, bytes]]) -> Survey:
    """Every image in ``files`` (YAML only), and the Sites annotations or markers govern."""
    kept = list(files)
    images: list[Site] = []
    for path, data in kept:
        try:
            images.extend(find_image_scalars(path, data))
        except ManifestError:
            continue  # not YAML a scan could read; check reports it once there is a config
    governed = frozenset(site.where for site in scan_files(kept).sites)
    return Survey(tuple(images), governed, len(kept))


def starter_config(found: Survey, *, url: str, name: str, branch: str) -> str:
    """The text of a starter automator.yaml."""
    registries = Counter(site.image.registry for site in found.images)
    ruled = [site for site in found.images if site.where not in found.governed]
    majors: dict[int, set[str]] = {}
    unversioned: set[str] = set()
    for site in ruled:
        version = try_version(site.image.tag) if site.image.tag else None
        if version is None:
            unversioned.add(site.image.name)
        else:
            majors.setdefault(version.major, set()).add(site.image.name)
    paths = _top_directories(site.file for site in ruled) or ["."]
    lines = [
        f"# Written by `automator init` from {url}: {found.files} YAML files,",
        f"# {len(found.images)} images, {len(found.governed)} already under a policy.",
        "# Next: automator check --config automator.yaml; automator plan --config automator.yaml",
        "sources:",
        f"  - name: {name}",
        f"    url: {_quote(url)}",
        f"    branch: {_quote(branch)}",
        f"    paths: [{', '.join(_quote(p) for p in paths)}]",
        "write:",
        "  mode: dry-run  # push or pull-request once a plan looks right",
        "registries:  # every registry an image comes from; add credentials where needed",
    ]
    for host, count in sorted(registries.items()):
        lines.append(f"  - host: {_quote(host)}  # {count} images")
        if host.startswith(("localhost", "127.")):
            lines.append("    # insecure: true  # if it answers plain HTTP")
    if not registries:
        lines[-1] = "registries: []  # no image found; list the registries your images use"
    lines += _rules(majors, paths, unversioned)
    return "\n".join(lines) + "\n"


def _rules(majors: dict[int, set[str]], paths: list[str], unversioned: set[str]) -> list[str]:
    if not majors:
        out = ["rules: []  # no image with a version tag outside an annotation or a marker"]
    else:
        out = ["rules:  # a suggestion: each image follows its own major version"]
    for major, images in sorted(majors.items()):
        out += [
            f"  - name: major-{major}",
            f"    paths: [{', '.join(_quote(p) for p in paths)}]",
            "    images:",
            *(f"      - {_quote(image)}" for image in sorted(images)),
            f'    policy: "semver:^{major}"',
            "    options: {min-age: 24h}  # wait a day before taking a new release",
        ]
    if unversioned:
        out.append("# tags that are not versions; give these a policy of their own:")
        out += [f"#   {image}" for image in sorted(unversioned)]
    return out


def _top_directories(names: Iterable[str]) -> list[str]:
    files = list(names)
    tops = {PurePosixPath(file).parts[0] for file in files if len(PurePosixPath(file).parts) > 1}
    roots = any(len(PurePosixPath(file).parts) == 1 for file in files)
    return ["."] if roots else sorted(tops)


def _quote(text: str) -> str:
    """``text`` as a YAML scalar: plain when safe, else double-quoted."""
    if text and all(c.isalnum() or c in "._/-" for c in text) and text[0] not in "-.":
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
