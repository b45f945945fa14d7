"""Amazon ECR: the AWS SDK's default credential chain, then ``GetAuthorizationToken``.

The chain is boto3's own: environment, the IRSA web-identity token file, EKS Pod
Identity, a shared profile, the instance profile. The token (valid 12 hours) is the
base64 of ``AWS:<password>``; ``Renewing`` fetches the next one shortly before
``expiresAt``. ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_ECR``) points the SDK
elsewhere, as the SDK documents.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

from automator.errors import RegistryError
from automator.logs import register_secret
from automator.registry.credentials.base import Credentials, Fetched
from automator.registry.credentials.extras import import_extra
from automator.secrets import Secret

# <account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def region_of(host: str) -> str | None:
    """The region an ECR host names; None for other hosts (the SDK's default region)."""
    match = _ECR_HOST.match(host.partition(":")[0])
    return match.group(1) if match else None


class Ecr:
    """Registry credentials from ECR's ``GetAuthorizationToken``."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._client: Any = None

    def changed(self) -> bool:
        return False

    def fetch(self) -> Fetched:
        errors = import_extra("botocore.exceptions", "aws", self.host)
        try:
            answer = self._ecr().get_authorization_token()
            data = answer["authorizationData"][0]
            token = register_secret(Secret(str(data["authorizationToken"])))
            user, _, password = base64.b64decode(token.reveal()).decode().partition(":")
            expires = data.get("expiresAt")
        except (KeyError, IndexError, binascii.Error, UnicodeDecodeError) as exc:
            raise RegistryError(
                f"{self.host}: ECR answered GetAuthorizationToken without a usable token;"
                " check the AWS endpoint",
                transient=True,
            ) from exc
        except (errors.BotoCoreError, errors.ClientError) as exc:  # no identity, denied, network
            raise RegistryError(
                f"{self.host}: ECR GetAuthorizationToken failed ({type(exc).__name__});"
                " check the pod's AWS identity and that its role allows"
                " ecr:GetAuthorizationToken",
                transient=not isinstance(exc, errors.ClientError),
            ) from exc
        if not password:
            raise RegistryError(f"{self.host}: ECR's token has no password; check the endpoint")
        secret = register_secret(Secret(password))
        at = expires.timestamp() if isinstance(expires, datetime) else None
        return Fetched(Credentials(user, secret, source="aws (ECR GetAuthorizationToken)"), at)

    def _ecr(self) -> Any:
        if self._client is None:
            boto3 = import_extra("boto3", "aws", self.host)
            self._client = boto3.client("ecr", region_name=region_of(self.host))
        return self._client

    def __repr__(self) -> str:
        return f"Ecr({self.host!r})"
