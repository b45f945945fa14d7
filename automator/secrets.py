"""Secrets read from the environment or from files, never shown.

A ``Secret`` prints as ``Secret('***')``: it can travel in settings objects, reprs
and exception arguments without leaking. Call ``reveal()`` only at the point of use.
"""

from __future__ import annotations

import os
from pathlib import Path

from automator.errors import ConfigError


class Secret:
    """A string that never appears in a repr, str or log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def secret_from(*, env: str | None = None, file: str | Path | None = None, what: str) -> Secret:
    """Read a secret from the environment variable ``env`` or the file ``file``.

    ``what`` names the setting in error messages (e.g. ``sources[0].auth.token_env``).
    """
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"{what}: environment variable {env} is not set; export it")
        return Secret(value)
    if file is not None:
        try:
            return Secret(Path(file).read_text().strip())
        except OSError as exc:
            raise ConfigError(f"{what}: cannot read {file}: {exc.strerror}") from exc
    raise ConfigError(f"{what}: name an environment variable or a file")
