"""Relative paths in automator.yaml are relative to the file, not the working directory.

``load_config`` hands the loaded data here before validating it: every key that
names a file or directory (``*_file``, ``docker_config``, ``ca_bundle``,
``client_cert``, ``client_key``, ``gpg_home``, ``state_dir``) and every
``sources[].url`` that is a local path gets the config file's directory in front
when it is relative. A relative source path that leads nowhere is a ConfigError
that says so, instead of Git's "unsupported URL protocol" later.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from automator.errors import ConfigError

PATH_KEYS = frozenset(
    {"docker_config", "ca_bundle", "client_cert", "client_key", "gpg_home", "state_dir"}
)
# scheme://..., or scp-like [user@]host:path (a drive-less POSIX path has no colon before a /)
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/:]+:")


def is_path_key(key: str) -> bool:
    """True for a key whose value is a path on this machine."""
    return key.endswith("_file") or key in PATH_KEYS


def is_local_url(url: str) -> bool:
    """True when a source url is a path on this machine, not a remote."""
    return _REMOTE.match(url) is None


def resolve_paths(data: dict[str, Any], base: Path, origin: str) -> dict[str, Any]:
    """``data`` with its relative paths joined to ``base`` (the config file's directory)."""
    resolved: dict[str, Any] = _walk(data, base)
    for index, source in enumerate(resolved.get("sources") or []):
        if not isinstance(source, dict) or not isinstance(source.get("url"), str):
            continue
        url = source["url"]
        if not url or not is_local_url(url) or os.path.isabs(os.path.expanduser(url)):
            continue
        path = os.path.normpath(base / url)
        if not os.path.exists(path):
            raise ConfigError(
                f"{origin}: sources[{index}].url: {url!r} is {path}, which does not exist;"
                " a relative path is read from the config file's directory"
            )
        source["url"] = path
    return resolved


def _walk(node: Any, base: Path) -> Any:
    if isinstance(node, list):
        return [_walk(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(key, str) and is_path_key(key) and isinstance(value, str) and value:
            expanded = os.path.expanduser(value)
            out[key] = value if os.path.isabs(expanded) else os.path.normpath(base / value)
        else:
            out[key] = _walk(value, base)
    return out
