"""``automator init``'s input: the YAML files of a directory, or of a Git URL's branch.

A directory is read from disk as it is (a work tree, uncommitted edits included);
its source ``url`` in the starter is the path relative to the new config file,
which is how automator.yaml reads relative paths. A URL is fetched into a
throw-away bare clone, without credentials (init is for looking, not for writing).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from automator.git import GitRepo
from automator.manifests import is_manifest_path

MAX_BYTES = 5 << 20  # as the scan: a larger YAML file is left out


def read_repo(
    repo: str, config_path: Path, branch: str | None
) -> tuple[list[tuple[str, bytes]], str, str]:
    """(YAML files, the source url to write, the branch) of ``repo``; raises AutomatorError."""
    local = os.path.isdir(repo)
    url = os.path.relpath(Path(repo).absolute(), config_path.absolute().parent) if local else repo
    chosen = branch or (_head_branch(Path(repo)) if local else "main")
    if local and not _is_bare(Path(repo)):
        return list(_walk(Path(repo).absolute())), url, chosen
    with tempfile.TemporaryDirectory(prefix="automator-init-") as cache:
        source = str(Path(repo).absolute()) if local else repo
        snapshot = GitRepo(source, chosen, Path(cache)).fetch()
        files = list(snapshot.walk([], accept=is_manifest_path, max_bytes=MAX_BYTES))
    return files, url, chosen


def _is_bare(root: Path) -> bool:
    return (root / "objects").is_dir() and (root / "HEAD").is_file()


def _walk(root: Path) -> Iterator[tuple[str, bytes]]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if (
                is_manifest_path(relative)
                and not path.is_symlink()
                and path.stat().st_size <= MAX_BYTES
            ):
                yield relative, path.read_bytes()


def _head_branch(root: Path) -> str:
    """The branch HEAD names in a work tree or a bare repository, else main."""
    for head in (root / ".git" / "HEAD", root / "HEAD"):
        try:
            text = head.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if text.startswith("ref: refs/heads/"):
            return text.removeprefix("ref: refs/heads/")
    return "main"
