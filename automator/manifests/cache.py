"""A scan cache keyed by blob id: a cycle re-parses only the files that changed.

Three bounded maps (least recently used out first), each rebuildable from the repo, so
losing them costs time only:

* the last whole scan of each source (``paths``, remote, rules, :data:`SCANNER_VERSION`)
  with its root tree id: a cycle on an unchanged commit (or tree) costs one lookup;
* blob facts, by blob id alone (content only): size, binary, which prefilter words it
  holds; a cached blob is never read again to learn that it holds no policy;
* the Sites and Skips of one file, by path, blob id and a context: the scanner version,
  the remote, the rules, and every Flux object file (path and blob id) of the tree. A
  changed Flux ImagePolicy or ImageRepository file, or a changed rule, re-parses every
  file with a Site.

Correctness first, so some scans bypass the per-file map: a scan given Flux objects by
its caller (sources that follow ImageUpdateAutomations), and one under whose paths a
file names ``argoproj.io/`` (an Argo Application's Sites depend on other files), or holds a
``Chart.lock`` (a Chart.yaml dependency's Site carries its lock entry); they
are scanned as without a cache. Files that hold Flux objects are parsed at every cycle
that misses the whole-scan map. One ordering differs from an uncached scan: the Skip of
a Flux object file that cannot be parsed comes in file order, not before the others.
What a cycle must parse is parsed in one ``scan_files`` call, then cached file by file.

Pure: the tree is read through the :class:`Tree` protocol (``git.Snapshot``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from automator.manifests.rules import Rule
from automator.manifests.scan import (
    _ARGO_OBJECTS,
    _FLUX_OBJECTS,
    _POLICY_WORDS,
    _RULED_WORDS,
    ScanResult,
    find_flux_objects,
    is_manifest_path,
    scan_files,
)
from automator.model import Site, Skip

# bump when what a scan finds in the same bytes changes; 2: `# automator: hold <reason>`
# on a chart version's line holds it
SCANNER_VERSION = "2"
_POLICY, _RULED, _FLUX, _ARGO, _BINARY = 1, 2, 4, 8, 16

K = TypeVar("K")
V = TypeVar("V")


class Tree(Protocol):
    """One commit's files, read lazily (``automator.git.Snapshot``)."""

    skipped: list[tuple[str, str]]

    @property
    def tree_id(self) -> str: ...

    def files(self) -> Iterator[tuple[str, str]]: ...

    def size(self, blob: str) -> int: ...

    def blob(self, blob: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class _Facts:
    size: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class _FileScan:
    sites: tuple[Site, ...]
    skipped: tuple[Skip, ...]


@dataclass(frozen=True, slots=True)
class _Whole:
    tree_id: str
    result: ScanResult
    walk_skipped: tuple[tuple[str, str], ...]  # what the walk added to the tree's skipped
    files: tuple[tuple[str, str, str], ...] = ()  # the per-file entries this scan used


class _Bounded(Generic[K, V]):
    """A map that forgets its least recently used entry past ``limit``; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def pop(self, key: K) -> V | None:
        with self._lock:
            return self._items.pop(key, None)

    def list_keys(self) -> list[K]:
        with self._lock:
            return list(self._items)


class ScanCache:
    """The three maps; shared by every source and worker of one process."""

    def __init__(self, *, files: int = 200_000, blobs: int = 400_000, scans: int = 10_000) -> None:
        self.scans: _Bounded[tuple[object, ...], _Whole] = _Bounded(scans)
        self.blobs: _Bounded[str, _Facts] = _Bounded(blobs)
        self.files: _Bounded[tuple[str, str, str], _FileScan] = _Bounded(files)
        self._manifests: dict[str, bool] = {}  # is_manifest_path, remembered: paths recur
        self._paths = blobs

    def is_manifest(self, path: str) -> bool:
        """``is_manifest_path(path)``, remembered (dict reads and writes are atomic)."""
        known = self._manifests.get(path)
        if known is None:
            if len(self._manifests) >= self._paths:
                self._manifests = {}
            known = self._manifests[path] = is_manifest_path(path)
        return known

    def forget(self, remote: str | None) -> int:
        """Drop the whole scans of the sources at ``remote``, and the per-file entries they
        used (a failing source holds no Sites until it succeeds again); blob facts, a few
        bytes each and shared by content, stay. Returns how many entries were dropped."""
        dropped = 0
        for key in self.scans.list_keys():
            if key[1] == remote and (whole := self.scans.pop(key)) is not None:
                dropped += 1 + sum(self.files.pop(k) is not None for k in whole.files)
        return dropped


def scan_tree(
    tree: Tree,
    roots: Sequence[str],
    cache: ScanCache,
    *,
    remote: str | None,
    rules: Sequence[Rule],
    max_bytes: int,
    read: Callable[[str], bytes | None],
    uncached: Callable[[], ScanResult],
    scanner: str = SCANNER_VERSION,
) -> ScanResult:
    """What ``uncached()`` (the engine's scan of ``tree`` under ``roots``) returns, from
    the cache where it can be; ``files_parsed`` counts only what was parsed now.
    ``read`` reads any file of the tree by path (None when absent). Entries another
    ``scanner`` version made are never used."""
    key = (tuple(roots), remote, tuple(rules), max_bytes, scanner)
    tree_id = tree.tree_id
    if (whole := cache.scans.get(key)) is not None and whole.tree_id == tree_id:
        tree.skipped.extend(whole.walk_skipped)
        return replace(whole.result, files_parsed=0)
    before = len(tree.skipped)
    loaded: dict[str, bytes] = {}  # blobs read by this scan, so none is read twice

    def blob(blob_id: str) -> bytes:
        data = loaded.get(blob_id)
        if data is None:
            data = loaded[blob_id] = tree.blob(blob_id)
        return data

    listed = _list(tree, cache, max_bytes, blob)
    inside = [f for f in listed if _under(f[0], roots)]
    # an Argo Application's Sites, and a Chart.yaml's (its Chart.lock), depend on other files
    if any(facts.flags & _ARGO or path.endswith("Chart.lock") for path, _, facts in inside):
        del tree.skipped[before:]
        return uncached()
    if roots:
        tree.skipped[before:] = [s for s in tree.skipped[before:] if _under(s[0], roots)]
        seen = [path for path, _, _ in listed]
        tree.skipped.extend(
            (root, "path not found at this commit")
            for root in roots
            if not any(_under(p, [root]) for p in seen)
        )
    within = (scanner, remote, tuple(rules))
    result, files = _scan(blob, cache, listed, inside, roots, within, max_bytes, read)
    cache.scans.put(key, _Whole(tree_id, result, tuple(tree.skipped[before:]), files))
    return result


def _list(
    tree: Tree, cache: ScanCache, max_bytes: int, blob: Callable[[str], bytes]
) -> list[tuple[str, str, _Facts]]:
    """Every regular file, with its facts; manifests over ``max_bytes`` are recorded as
    skipped, in walk order, as ``Snapshot.walk`` records them."""
    listed = []
    for path, blob_id in tree.files():
        manifest = cache.is_manifest(path)
        facts = cache.blobs.get(blob_id) if manifest else None
        if manifest and facts is None:
            facts = _facts(tree.size(blob_id), blob_id, max_bytes, blob)
            cache.blobs.put(blob_id, facts)
        if facts is not None and facts.size > max_bytes:
            tree.skipped.append(
                (path, f"{facts.size} bytes, over the {max_bytes}-byte limit; not read")
            )
            facts = None
        listed.append((path, blob_id, facts or _Facts(-1)))
    return listed


def _facts(size: int, blob_id: str, max_bytes: int, blob: Callable[[str], bytes]) -> _Facts:
    if size > max_bytes:
        return _Facts(size)
    data = blob(blob_id)
    flags = _BINARY if b"\x00" in data[:8192] else 0
    for flag, words in (
        (_POLICY, _POLICY_WORDS),
        (_RULED, _RULED_WORDS),
        (_FLUX, _FLUX_OBJECTS),
        (_ARGO, _ARGO_OBJECTS),
    ):
        if words.search(data):
            flags |= flag
    return _Facts(size, flags)


def _scan(
    blob: Callable[[str], bytes],
    cache: ScanCache,
    listed: list[tuple[str, str, _Facts]],
    inside: list[tuple[str, str, _Facts]],
    roots: Sequence[str],
    within: tuple[str, str | None, tuple[Rule, ...]],
    max_bytes: int,
    read: Callable[[str], bytes | None],
) -> tuple[ScanResult, tuple[tuple[str, str, str], ...]]:
    """The scan, and the keys of the per-file entries it used; ``within``: the scanner
    version, the remote and the rules, which every per-file entry depends on."""
    remote, rules = within[1], within[2]
    outside = [f for f in listed if roots and not _under(f[0], roots)]
    flux_files = [(p, b) for p, b, facts in outside if facts.size >= 0 and facts.flags & _FLUX]
    special = [(p, b) for p, b, f in inside if _flux_file(f)]
    context = hashlib.blake2b(
        repr((*within, flux_files, special)).encode(), digest_size=16
    ).hexdigest()
    early: list[Skip] = []  # binary files: an uncached scan reports them first
    found: dict[str, _FileScan | None] = {}  # each file with a policy word, in file order
    scanned = 0
    for path, blob_id, facts in inside:
        if facts.size < 0:
            continue  # not a manifest, or over the size limit (the walk reported it)
        scanned += 1
        if facts.flags & _BINARY:
            early.append(Skip(path, "binary content (NUL byte)"))
        elif _words(facts, rules):
            found[path] = None if _flux_file(facts) else cache.files.get((path, blob_id, context))
    blobs = {path: blob_id for path, blob_id, _ in inside}
    specials = {path for path, _ in special}
    missed = [(path, blob(blobs[path])) for path, hit in found.items() if hit is None]
    result = scan_files(
        missed,
        max_bytes=max_bytes,
        flux=find_flux_objects((p, blob(b)) for p, b in flux_files),
        read=read,
        repo_url=remote,
        rules=rules,
    )
    fresh = _by_file(result, found)
    sites: list[Site] = []
    late: list[Skip] = []
    for path, hit in found.items():
        scan = hit or fresh.get(path, _FileScan((), ()))
        if hit is None and path not in specials:
            cache.files.put((path, blobs[path], context), scan)
        sites.extend(scan.sites)
        late.extend(scan.skipped)
    late.extend(fresh[""].skipped if "" in fresh else ())
    keys = tuple((path, blobs[path], context) for path in found if path not in specials)
    return ScanResult(tuple(sites), (*early, *late), scanned, result.files_parsed), keys


def _by_file(result: ScanResult, files: Mapping[str, object]) -> dict[str, _FileScan]:
    """``result``'s Sites and Skips by the file they are in (``""``: one that names none)."""
    sites: dict[str, list[Site]] = {}
    skipped: dict[str, list[Skip]] = {}
    for site in result.sites:
        sites.setdefault(site.file, []).append(site)
    for skip in result.skipped:
        head, _, line = skip.where.rpartition(":")
        path = skip.where if skip.where in files else head if line.isdigit() else ""
        skipped.setdefault(path if path in files else "", []).append(skip)
    return {
        path: _FileScan(tuple(sites.get(path, ())), tuple(skipped.get(path, ())))
        for path in sites.keys() | skipped.keys()
    }


def _words(facts: _Facts, rules: Sequence[Rule]) -> bool:
    return bool(facts.flags & (_RULED if rules else _POLICY))


def _flux_file(facts: _Facts) -> bool:
    """A file under paths whose Flux objects an uncached scan collects (and so is parsed)."""
    return facts.size >= 0 and not facts.flags & _BINARY and bool(facts.flags & _FLUX)


def _under(path: str, roots: Sequence[str]) -> bool:
    return not roots or any(path == r or path.startswith(r + "/") for r in roots)
