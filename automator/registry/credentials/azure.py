"""Azure Container Registry: an Azure AD token exchanged for an ACR refresh token.

``DefaultAzureCredential`` finds the identity (workload identity's federated token
file, a managed identity, the environment) and gets an AAD access token for
``https://management.azure.com/.default``. ACR's documented flow
(Azure/acr ``docs/AAD-OAuth.md``) then POSTs it to ``https://<registry>/oauth2/exchange``
(``grant_type=access_token``, ``service``, ``tenant``, ``access_token``) and gets a
refresh token, which the registry takes as the password of user
``00000000-0000-0000-0000-000000000000``. ``AZURE_AUTHORITY_HOST`` points the SDK
at another authority, as it documents.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from automator.errors import RegistryError
from automator.logs import register_secret
from automator.registry.credentials.base import Credentials, Fetched, Post
from automator.registry.credentials.extras import import_extra
from automator.secrets import Secret

USERNAME = "00000000-0000-0000-0000-000000000000"
SCOPE = "https://management.azure.com/.default"


class AcrExchange:
    """Registry credentials from an AAD token exchanged at the registry's /oauth2/exchange."""

    def __init__(self, host: str, api_base: str, post: Post, scope: str = SCOPE) -> None:
        self.host, self.api_base, self.scope = host, api_base, scope
        self._post = post
        self._credential: Any = None

    def changed(self) -> bool:
        return False

    def fetch(self) -> Fetched:
        aad, aad_expires = self._aad_token()
        form = {"grant_type": "access_token", "service": self.host, "access_token": aad}
        if tenant := os.environ.get("AZURE_TENANT_ID"):
            form["tenant"] = tenant
        status, body = self._post(f"{self.api_base}/oauth2/exchange", form)
        if status != 200:
            raise RegistryError(
                f"{self.host}: /oauth2/exchange refused the Azure AD token (HTTP {status});"
                " check that the identity has the AcrPull role on this registry",
                transient=status >= 500 or status == 429,
            )
        try:
            refresh = json.loads(body)["refresh_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(
                f"{self.host}: /oauth2/exchange answered without a refresh_token;"
                " check that this host is an Azure Container Registry",
                transient=True,
            ) from exc
        if not isinstance(refresh, str) or not refresh:
            raise RegistryError(f"{self.host}: /oauth2/exchange answered an empty refresh_token")
        password = register_secret(Secret(refresh))
        expires = jwt_expiry(refresh) or aad_expires
        return Fetched(
            Credentials(USERNAME, password, source="azure (ACR token exchange)"), expires
        )

    def _aad_token(self) -> tuple[str, float]:
        identity = import_extra("azure.identity", "azure", self.host)
        errors = import_extra("azure.core.exceptions", "azure", self.host)
        try:
            if self._credential is None:
                self._credential = identity.DefaultAzureCredential()
            token = self._credential.get_token(self.scope)
        except errors.AzureError as exc:
            raise RegistryError(
                f"{self.host}: no Azure AD token ({type(exc).__name__}); check the workload"
                " identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE) or"
                " the managed identity",
                transient=not isinstance(exc, errors.ClientAuthenticationError),
            ) from exc
        register_secret(Secret(token.token))
        return str(token.token), float(token.expires_on)

    def __repr__(self) -> str:
        return f"AcrExchange({self.host!r})"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, unverified (only to know when to renew); None if absent."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) else None
