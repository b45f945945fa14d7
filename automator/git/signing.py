"""Commit signatures: SSH (SSHSIG, as ``ssh-keygen -Y sign`` writes) and GPG.

A ``Signer`` turns the bytes of an unsigned commit into an armored signature that
goes into the commit's ``gpgsig`` header; git uses that header for both formats.
``SshSigner`` is pure Python (``cryptography``), so the daemon's image needs no
binaries; ``SshKeygenSigner`` and ``GpgSigner`` delegate to the tools.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import subprocess
from pathlib import Path
from typing import Any, Protocol

from automator.errors import ConfigError, GitError
from automator.secrets import Secret

NAMESPACE = "git"
SIGN_TIMEOUT_S = 30.0


class Signer(Protocol):
    """Signs the raw bytes of a commit; returns the armored signature."""

    def sign(self, payload: bytes) -> str: ...


class SshSigner:
    """SSHSIG with an Ed25519 or RSA key, in pure Python."""

    def __init__(self, key: Secret, passphrase: Secret | None = None, *, what: str = "ssh key"):
        from cryptography.hazmat.primitives import serialization

        data = key.reveal().encode()
        password = passphrase.reveal().encode() if passphrase else None
        try:
            if b"OPENSSH PRIVATE KEY" in data:
                self._key: Any = serialization.load_ssh_private_key(data, password)
            else:
                self._key = serialization.load_pem_private_key(data, password)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"{what}: cannot load the signing key ({exc}); check the key and its passphrase"
            ) from exc
        self._public_blob, self._algorithm = _public_blob(self._key, what)

    @classmethod
    def from_file(cls, path: Path, passphrase: Secret | None = None) -> SshSigner:
        try:
            return cls(Secret(Path(path).read_text()), passphrase, what=str(path))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the signing key: {exc.strerror}") from exc

    def sign(self, payload: bytes) -> str:
        signed = (
            b"SSHSIG"
            + _string(NAMESPACE.encode())
            + _string(b"")
            + _string(b"sha512")
            + _string(hashlib.sha512(payload).digest())
        )
        blob = (
            b"SSHSIG"
            + struct.pack(">I", 1)
            + _string(self._public_blob)
            + _string(NAMESPACE.encode())
            + _string(b"")
            + _string(b"sha512")
            + _string(_string(self._algorithm) + _string(self._raw_signature(signed)))
        )
        return _armor(blob)

    def _raw_signature(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        if isinstance(self._key, rsa.RSAPrivateKey):
            return bytes(self._key.sign(data, padding.PKCS1v15(), hashes.SHA512()))
        return bytes(self._key.sign(data))


def _public_blob(key: Any, what: str) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return _string(b"ssh-ed25519") + _string(raw), b"ssh-ed25519"
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        blob = _string(b"ssh-rsa") + _mpint(numbers.e) + _mpint(numbers.n)
        return blob, b"rsa-sha2-512"
    raise ConfigError(
        f"{what}: only Ed25519 and RSA keys are signed in-process; use an Ed25519 key"
        " or sign with ssh-keygen (SshKeygenSigner)"
    )


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _mpint(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return _string(data)


def _armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(lines) + "\n-----END SSH SIGNATURE-----\n"


class SshKeygenSigner:
    """SSHSIG made by ``ssh-keygen -Y sign`` (any key type OpenSSH supports)."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = Path(key_file)

    def sign(self, payload: bytes) -> str:
        command = ["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-f", str(self.key_file)]
        return _run_signer(command, payload, f"ssh-keygen with {self.key_file}", None)


class GpgSigner:
    """An OpenPGP signature made by the ``gpg`` binary (no passphrase prompt possible)."""

    def __init__(self, key_id: str, gnupg_home: Path | None = None) -> None:
        self.key_id = key_id
        self.gnupg_home = gnupg_home

    def sign(self, payload: bytes) -> str:
        command = ["gpg", "--batch", "--armor", "--detach-sign", "--local-user", self.key_id]
        env = dict(os.environ)
        if self.gnupg_home is not None:
            env["GNUPGHOME"] = str(self.gnupg_home)
        return _run_signer(command, payload, f"gpg key {self.key_id}", env)


def _run_signer(command: list[str], payload: bytes, what: str, env: dict[str, str] | None) -> str:
    try:
        result = subprocess.run(
            command, input=payload, capture_output=True, timeout=SIGN_TIMEOUT_S, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(
            f"signing with {what} failed ({exc}); check that the tool is installed"
        ) from exc
    if result.returncode != 0 or not result.stdout:
        said = " ".join(result.stderr.decode(errors="replace").split())[:300]
        raise GitError(
            f"signing with {what} failed: {said}; check the key and that it needs no passphrase"
        )
    return result.stdout.decode()
