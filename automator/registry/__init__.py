"""The OCI distribution client: tags, digests and build times from registries."""

from automator.registry.client import RegistryClient, RegistrySettings

__all__ = ["RegistryClient", "RegistrySettings"]
