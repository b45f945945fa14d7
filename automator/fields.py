"""One field followed through a file's history: the same Site in every version of its file.

A field is known by its workload, container, part and repository, and its order
among Sites that share those, so it is found again when lines move. Each version of
the file (``automator.git.history``) is scanned on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from automator.git import Snapshot
from automator.git.history import FileVersion, file_history
from automator.manifests import scan_files
from automator.manifests.rules import Rule
from automator.model import Site

Key = tuple[str, str, str, str, int]
Versions = list[tuple[FileVersion, dict[Key, str | None]]]


def field_keys(sites: Sequence[Site]) -> dict[int, Key]:
    """The key of each Site (by ``id``) among ``sites`` of one file."""
    counts: dict[tuple[str, ...], int] = {}
    keys = {}
    for site in sites:
        base = (site.file, site.workload, site.container, site.part.value, site.image.name)
        keys[id(site)] = (*base[1:], counts.get(base, 0))
        counts[base] = counts.get(base, 0) + 1
    return keys


Find = Callable[[str, bytes], Sequence[Site]]


def field_history(
    snapshot: Snapshot, path: str, rules: Sequence[Rule] = (), find: Find | None = None
) -> Versions:
    """Each commit that changed ``path``, newest first, with every field's tag after it.

    ``find`` lists a version's Sites (default: the scan, under ``rules``)."""

    def governed(path: str, data: bytes) -> Sequence[Site]:
        return scan_files([(path, data)], rules=rules).sites

    out: Versions = []
    for version in file_history(snapshot, path):
        sites = (find or governed)(path, version.data) if version.data else ()
        keys = field_keys(sites)
        out.append((version, {keys[id(s)]: s.image.tag for s in sites}))
    return out
