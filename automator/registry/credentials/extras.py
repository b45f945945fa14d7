"""The cloud SDKs are optional extras, imported only when a registry names its cloud."""

from __future__ import annotations

import importlib
from types import ModuleType

from automator.errors import ConfigError

EXTRAS = {"aws": "boto3", "gcp": "google.auth", "azure": "azure.identity"}


def import_extra(module: str, extra: str, host: str) -> ModuleType:
    """``module`` from the ``automator[extra]`` extra; one line saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"registry {host}: provider {extra} needs `pip install automator[{extra}]`"
        ) from exc


def check_extra(provider: str, host: str) -> None:
    """Fail now, not at the first pull, when ``provider``'s SDK is missing."""
    if provider in EXTRAS:
        import_extra(EXTRAS[provider], provider, host)
