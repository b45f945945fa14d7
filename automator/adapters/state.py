"""``state_dir``, checked before anything is built on it: a bad one is one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

from automator.errors import ConfigError
from automator.git import STATE_DIR_HINT, state_dir_problem


def checked_state_dir(path: Path) -> Path:
    """``path``, created if missing; ConfigError naming it when it cannot hold clones and caches
    (a file, no write permission, a full disk)."""
    if problem := state_dir_problem(path, create=True):
        raise ConfigError(f"{problem}; {STATE_DIR_HINT}")
    return path
