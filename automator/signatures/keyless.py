"""Keyless signatures: a Sigstore bundle, verified by sigstore-python against a trusted
root the user supplies (``trusted_root.json``), for an identity and an OIDC issuer.

What sigstore-python checks, all offline, from the bundle and the trusted root only
(nothing is fetched: no TUF, no Rekor or Fulcio request):

- the signing certificate chains to a certificate authority of the trusted root, and
  was valid at the signature's verified time (the log's integrated time, or an
  RFC 3161 timestamp from an authority of the trusted root);
- its embedded SCT is signed by a CT log key of the trusted root;
- it is a code-signing certificate whose SAN is one of our identities and whose
  OIDC issuer extension (1.3.6.1.4.1.57264.1.1) is that identity's issuer;
- the transparency-log entry: the Merkle inclusion proof up to a checkpoint signed
  by a log key of the trusted root, and the inclusion promise (SET) when present;
  and the entry's body matches the signature and the payload;
- the DSSE envelope's signature over the payload, with the certificate's key.

Then we check that the payload is cosign 3's in-toto statement for an image signature
(predicate ``https://sigstore.dev/cosign/sign/v1``) whose subject is the digest.

Not checked: that the log entry is still in the live log (no online lookup, no
consistency proof between checkpoints), certificate revocation, and cosign's
legacy keyless layout (certificate and SET in annotations, no inclusion proof),
which sigstore-python does not verify.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from cryptography import x509

from automator.errors import ConfigError

IN_TOTO: Final = "application/vnd.in-toto+json"
COSIGN_SIGN: Final = "https://sigstore.dev/cosign/sign/v1"
ISSUER_OID: Final = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who may sign: the certificate's SAN and the OIDC issuer that vouched for it."""

    identity: str  # an email, or a URI such as a CI workflow's
    issuer: str  # e.g. https://token.actions.githubusercontent.com


class Keyless:
    """Verifies Sigstore bundles for a set of identities against one trusted root.

    sigstore-python is imported here, not at module level: it takes a second to load,
    and only configurations with keyless identities need it.
    """

    def __init__(self, root: str, identities: tuple[Identity, ...]) -> None:
        """``root`` is the trusted_root.json file; refusals name it."""
        try:
            from sigstore.errors import Error as SigstoreError
            from sigstore.models import TrustedRoot
            from sigstore.verify import Verifier, policy
        except ImportError as exc:
            raise ConfigError(
                f"{root}: cosign.keyless needs sigstore-python; pip install 'automator[keyless]'"
            ) from exc

        self.name = root
        self.identities = identities
        try:
            self._verifier = Verifier(trusted_root=TrustedRoot.from_file(root))
        except (SigstoreError, ValueError, OSError) as exc:
            why = f"{root}: not a usable Sigstore trusted root ({_first_line(exc)})"
            raise ConfigError(f"{why}; check the file") from exc
        self._policy = policy.AnyOf(
            [policy.Identity(identity=i.identity, issuer=i.issuer) for i in identities]
        )

    def problem(self, bundle: bytes, digest: str) -> str | None:
        """None when ``bundle`` is a valid signature of ``digest``; else why not."""
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle

        try:
            parsed = Bundle.from_json(bundle)
        except (SigstoreError, ValueError) as exc:
            return f"keyless signature is not a valid Sigstore bundle: {_first_line(exc)}"
        try:
            self._policy.verify(parsed.signing_certificate)
        except SigstoreError:
            who = _signer(parsed.signing_certificate)
            return f"keyless signature from {who}, not one of the cosign.keyless signers"
        try:
            kind, payload = self._verifier.verify_dsse(parsed, self._policy)
        except SigstoreError as exc:
            return f"keyless signature does not verify against {self.name}: {_first_line(exc)}"
        if kind != IN_TOTO:
            return f"keyless signature carries {kind[:60]!r}, not an in-toto statement"
        return _statement_problem(payload, digest)


def _statement_problem(payload: bytes, digest: str) -> str | None:
    try:
        statement = json.loads(payload)
        kind = statement.get("predicateType")
        subjects = statement.get("subject") or []
        hexes = {s["digest"]["sha256"] for s in subjects if isinstance(s, dict)}
    except (ValueError, AttributeError, KeyError, TypeError):
        return "keyless signature's statement is malformed"
    if kind != COSIGN_SIGN:
        return f"keyless bundle is an attestation ({str(kind)[:60]}), not a signature"
    if digest.removeprefix("sha256:") not in hexes:
        return "keyless signature is for another digest"
    return None


def _signer(cert: x509.Certificate) -> str:
    """Who signed, as the certificate says (its SANs and OIDC issuer), for a refusal."""
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*sans.get_values_for_type(x509.RFC822Name)]
        names += sans.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        names = []
    try:
        found = cert.extensions.get_extension_for_oid(ISSUER_OID).value
    except x509.ExtensionNotFound:
        found = None
    issuer = (
        found.value.decode(errors="replace")
        if isinstance(found, x509.UnrecognizedExtension)
        else "none"
    )
    return f"{', '.join(names)[:120] or 'no identity'} (issuer {issuer[:120]})"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
