"""The OCI distribution client: tags, digests and build times from registries."""

from automator.registry.cache import RegistryCache
from automator.registry.client import RegistryClient
from automator.registry.listing import TagListing
from automator.registry.manifests import ImageInfo, Platform
from automator.registry.pulls import PullsDeferred
from automator.registry.settings import RegistrySettings

__all__ = [
    "ImageInfo",
    "Platform",
    "PullsDeferred",
    "RegistryCache",
    "RegistryClient",
    "RegistrySettings",
    "TagListing",
]
