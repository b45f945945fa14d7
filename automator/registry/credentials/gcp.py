"""Google Artifact Registry and GCR: Application Default Credentials, then an access token.

``google.auth.default()`` finds the identity: ``GOOGLE_APPLICATION_CREDENTIALS`` (a
key file), gcloud's own, or the metadata server (GKE workload identity, GCE). The
registry takes the OAuth2 access token as the password of user ``oauth2accesstoken``;
``Renewing`` refreshes it shortly before its expiry (an hour). ``GCE_METADATA_HOST``
and ``GCE_METADATA_IP`` point the SDK at another metadata server, as it documents.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from automator.errors import RegistryError
from automator.logs import register_secret
from automator.registry.credentials.base import Credentials, Fetched
from automator.registry.credentials.extras import import_extra
from automator.secrets import Secret

USERNAME = "oauth2accesstoken"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class GoogleAccessToken:
    """Registry credentials from Application Default Credentials."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._credentials: Any = None

    def changed(self) -> bool:
        return False

    def fetch(self) -> Fetched:
        auth = import_extra("google.auth", "gcp", self.host)
        transport = import_extra("google.auth.transport.requests", "gcp", self.host)
        errors = import_extra("google.auth.exceptions", "gcp", self.host)
        try:
            if self._credentials is None:
                self._credentials, _ = auth.default(scopes=list(SCOPES))
            self._credentials.refresh(transport.Request())
            token = self._credentials.token
            expiry = self._credentials.expiry
        except errors.GoogleAuthError as exc:
            raise RegistryError(
                f"{self.host}: no Google access token ({type(exc).__name__}); check the"
                " workload identity binding or GOOGLE_APPLICATION_CREDENTIALS, and that the"
                " service account may read the registry (roles/artifactregistry.reader)",
                transient=isinstance(exc, errors.TransportError | errors.RefreshError),
            ) from exc
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.host}: Google answered without an access token")
        password = register_secret(Secret(token))
        # google-auth keeps expiry as a naive UTC datetime
        at = calendar.timegm(expiry.utctimetuple()) if isinstance(expiry, datetime) else None
        return Fetched(Credentials(USERNAME, password, source="gcp (application default)"), at)

    def __repr__(self) -> str:
        return f"GoogleAccessToken({self.host!r})"
