"""A throwaway Sigstore, offline: a Fulcio-like CA, a CT log and a Rekor-like log, each a
fresh key, and the ``trusted_root.json`` that names them; it signs images keylessly
the way cosign 3 does (a Sigstore bundle v0.3 around a DSSE in-toto statement).

Everything a verifier checks is really made and really signed here: the leaf
certificate (identity SAN, OIDC issuer extension, code signing) with an embedded SCT
over its precertificate, a dsse/0.0.1 log entry, its Merkle inclusion proof (a
one-leaf tree), a signed checkpoint and the signed entry timestamp (SET).
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

ISSUER_OID = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
IN_TOTO = "application/vnd.in-toto+json"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"
P256 = "PKIX_ECDSA_P256_SHA_256"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _der(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    return hashlib.sha256(_der(key)).digest()


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


class Sigstore:
    """One throwaway instance; ``now`` is when it signs (the log's integrated time)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.log_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "throwaway-fulcio")])
        ski = x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - timedelta(days=1))
            .not_valid_after(self.now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    def trusted_root(self) -> dict[str, Any]:
        """The ``trusted_root.json`` a user would be given for this instance."""
        start = {"start": (self.now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}

        def log(key: ec.EllipticCurvePrivateKey, url: str) -> dict[str, Any]:
            public = key.public_key()
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(_der(public)),
                    "keyDetails": P256,
                    "validFor": start,
                },
                "logId": {"keyId": _b64(_key_id(public))},
            }

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(self.log_key, "https://rekor.invalid")],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "throwaway", "commonName": "throwaway-fulcio"},
                    "uri": "https://fulcio.invalid",
                    "certChain": {
                        "certificates": [
                            {"rawBytes": _b64(self.ca.public_bytes(serialization.Encoding.DER))}
                        ]
                    },
                    "validFor": start,
                }
            ],
            "ctlogs": [log(self.ct_key, "https://ctfe.invalid")],
            "timestampAuthorities": [],
        }

    def leaf(self, identity: str, issuer: str, key: ec.EllipticCurvePublicKey) -> x509.Certificate:
        """A Fulcio-style code-signing certificate with an SCT over its precertificate."""
        serial = x509.random_serial_number()
        san: x509.GeneralName = (
            x509.UniformResourceIdentifier(identity)
            if "://" in identity
            else x509.RFC822Name(identity)
        )

        def build(sct: bytes | None) -> x509.Certificate:
            builder = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.ca.subject)
                .public_key(key)
                .serial_number(serial)
                .not_valid_before(self.now - timedelta(minutes=1))
                .not_valid_after(self.now + timedelta(minutes=10))
                .add_extension(_usage(signature=True), critical=True)
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
                )
                .add_extension(x509.SubjectAlternativeName([san]), critical=True)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                    critical=False,
                )
                .add_extension(x509.UnrecognizedExtension(ISSUER_OID, issuer.encode()), False)
            )
            if sct is not None:
                builder = builder.add_extension(x509.UnrecognizedExtension(SCT_OID, sct), False)
            return builder.sign(self.ca_key, hashes.SHA256())

        precert = build(None)
        return build(self._sct(precert.tbs_certificate_bytes))

    def _sct(self, tbs: bytes) -> bytes:
        """The DER extension value holding one SCT over ``tbs`` (RFC 6962, precert entry)."""
        millis = int(self.now.timestamp() * 1000)
        issuer = _key_id(self.ca_key.public_key())
        entry = issuer + struct.pack("!I", len(tbs))[1:] + tbs
        signed = struct.pack("!BBQH", 0, 0, millis, 1) + entry + struct.pack("!H", 0)
        signature = _sign(self.ct_key, signed)
        sct = (
            struct.pack("!B", 0)
            + _key_id(self.ct_key.public_key())
            + struct.pack("!QH", millis, 0)
            + struct.pack("!BBH", 4, 3, len(signature))
            + signature
        )
        listed = struct.pack("!H", len(sct)) + sct
        tls = struct.pack("!H", len(listed)) + listed
        return bytes([0x04]) + _der_length(len(tls)) + tls  # an OCTET STRING

    def bundle(
        self,
        digest: str,
        identity: str,
        issuer: str,
        *,
        predicate: str = COSIGN_SIGN,
        name: str = "image",
    ) -> bytes:
        """A Sigstore bundle v0.3 signing ``digest`` as cosign 3 does, logged and promised."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.leaf(identity, issuer, key.public_key())
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": digest.removeprefix("sha256:")}}],
            "predicateType": predicate,
            "predicate": {},
        }
        payload = json.dumps(statement).encode()
        pae = b"DSSEv1 %d %b %d %b" % (len(IN_TOTO), IN_TOTO.encode(), len(payload), payload)
        signature = _sign(key, pae)
        envelope = {
            "payload": _b64(payload),
            "payloadType": IN_TOTO,
            "signatures": [{"sig": _b64(signature)}],
        }
        pem = cert.public_bytes(serialization.Encoding.PEM)
        body = rfc8785.dumps(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(pae).hexdigest(),
                    },
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(payload).hexdigest(),
                    },
                    "signatures": [{"signature": _b64(signature), "verifier": _b64(pem)}],
                },
            }
        )
        return json.dumps(
            {
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {
                    "certificate": {
                        "rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))
                    },
                    "tlogEntries": [self._entry(body)],
                },
                "dsseEnvelope": envelope,
            }
        ).encode()

    def _entry(self, body: bytes) -> dict[str, Any]:
        """The log entry of ``body``: index 0 of a one-leaf tree, checkpoint and SET signed."""
        log_id = _key_id(self.log_key.public_key())
        integrated = int(self.now.timestamp())
        root = hashlib.sha256(b"\x00" + body).digest()
        note = f"rekor.invalid - 1\n1\n{_b64(root)}\n"
        stamp = _b64(log_id[:4] + _sign(self.log_key, note.encode()))
        checkpoint = f"{note}\n\u2014 rekor.invalid {stamp}\n"
        promise = rfc8785.dumps(
            {"body": _b64(body), "integratedTime": integrated, "logID": log_id.hex(), "logIndex": 0}
        )
        return {
            "logIndex": "0",
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": _b64(_sign(self.log_key, promise))},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": _b64(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": checkpoint},
            },
            "canonicalizedBody": _b64(body),
        }


def _usage(*, signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw
