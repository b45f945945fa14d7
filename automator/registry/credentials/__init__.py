"""Registry credentials and their lifecycle: files that rotate, helpers, the clouds.

With ``automator.adapters``, the one place that reads credentials, by design: they
rotate (a mounted Secret replaced on disk, a helper's or a cloud's short-lived
token), so they are read or minted when the registry asks, never once per process.
Every value read here is registered for log redaction.

    base        Credentials; the CredentialSource and CredentialProvider seams;
                Renewing (cache until expiry, change on disk, or a 401)
    files       a password file and a docker config (with credential helpers)
    aws, gcp, azure
                ECR, Google (GAR/GCR) and ACR, each from its optional extra
    providers   provider_for(settings, post): which one answers for a registry
"""

from automator.registry.credentials.base import (
    ANONYMOUS,
    CredentialProvider,
    Credentials,
    CredentialSource,
    Fetched,
    Fixed,
    Renewing,
)
from automator.registry.credentials.extras import check_extra
from automator.registry.credentials.providers import PROVIDERS, provider_for

__all__ = [
    "ANONYMOUS",
    "PROVIDERS",
    "CredentialProvider",
    "CredentialSource",
    "Credentials",
    "Fetched",
    "Fixed",
    "Renewing",
    "check_extra",
    "provider_for",
]
