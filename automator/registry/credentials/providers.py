"""Which provider answers for a registry: its cloud, its settings, a file, or none.

``registries[].provider`` (and Flux's ImageRepository ``provider``, which uses the
same names) picks a cloud; ``generic`` uses the username and password, the password
file or the docker config the settings name.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from automator.registry.credentials.aws import Ecr
from automator.registry.credentials.azure import AcrExchange
from automator.registry.credentials.base import (
    ANONYMOUS,
    Clock,
    CredentialProvider,
    Credentials,
    CredentialSource,
    Fixed,
    Post,
    Renewing,
)
from automator.registry.credentials.files import DockerConfig, PasswordFile
from automator.registry.credentials.gcp import GoogleAccessToken
from automator.registry.settings import RegistrySettings

CloudSource = Callable[[RegistrySettings, Post], CredentialSource]

CLOUDS: dict[str, CloudSource] = {
    "aws": lambda settings, post: Ecr(settings.host),
    "gcp": lambda settings, post: GoogleAccessToken(settings.host),
    "azure": lambda settings, post: AcrExchange(settings.key, settings.api_base, post),
}
PROVIDERS = ("generic", *CLOUDS)


def provider_for(
    settings: RegistrySettings, post: Post, clock: Clock = time.time
) -> CredentialProvider:
    """The provider of ``settings``' credentials; ``post`` reaches the registry (ACR's
    token exchange), ``clock`` is the wall clock expiry times are read on."""
    cloud = CLOUDS.get(settings.provider)
    if cloud is not None:
        return Renewing(cloud(settings, post), clock)
    if settings.identity_token is not None or settings.password is not None:
        return Fixed(Credentials(settings.username, settings.password, settings.identity_token))
    if settings.password_file is not None:
        return Renewing(
            PasswordFile(settings.key, settings.username, settings.password_file), clock
        )
    if settings.docker_config is not None:
        return Renewing(DockerConfig(settings.key, settings.docker_config, clock), clock)
    return Fixed(ANONYMOUS)
