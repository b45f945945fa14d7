"""How we reach a remote: URLs without credentials, credentials, host checks, timeouts.

libgit2 keeps its trust settings per process (home directory for ``known_hosts``,
the CA store, the server timeout), so one ``_ProcessTrust`` owns them: a private
home whose ``.ssh/known_hosts`` is the union of every configured file, and a CA
bundle made of the system store plus every configured CA. Trust only grows; the home
is removed when the interpreter exits.
"""

from __future__ import annotations

import atexit
import base64
import fnmatch
import hashlib
import hmac
import logging
import re
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pygit2
from pygit2.enums import CredentialType

from automator.errors import GitError
from automator.secrets import Secret

logger = logging.getLogger(__name__)

DEFAULT_KNOWN_HOSTS = Path.home() / ".ssh" / "known_hosts"
_ZERO = pygit2.Oid(raw=b"\0" * 20)
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).*)$")


@dataclass(frozen=True, slots=True)
class GitAuth:
    """Credentials and trust for one remote; key material and passwords stay in Secrets."""

    username: str | None = None  # HTTPS user; SSH user when the URL names none
    password: Secret | None = None  # HTTPS password or token
    ssh_key_file: Path | None = None  # private key on disk
    ssh_key: Secret | None = None  # private key text (OpenSSH or PEM)
    ssh_passphrase: Secret | None = None
    known_hosts_file: Path | None = None  # default ~/.ssh/known_hosts
    accept_unknown_hosts: bool = False  # a host missing from known_hosts is let in (logged)
    ca_file: Path | None = None  # extra CA certificates (PEM) for HTTPS

    @classmethod
    def token(cls, token: Secret, username: str = "x-access-token") -> GitAuth:
        """HTTPS with a forge token (GitHub: x-access-token, GitLab: oauth2)."""
        return cls(username=username, password=token)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A remote URL split into what libgit2 needs and what we check."""

    url: str  # without password; what .git/config and messages hold
    scheme: str  # file, git, http, https, ssh
    host: str = ""
    port: int | None = None
    username: str | None = None
    password: Secret | None = None  # taken out of the URL, never stored

    @property
    def display(self) -> str:
        """The URL without any user information, for logs and errors."""
        if self.scheme in ("http", "https") and self.username:
            return self.url.replace(f"{self.username}@", "", 1)
        return self.url

    @property
    def known_hosts_name(self) -> str:
        return self.host if self.port in (None, 22) else f"[{self.host}]:{self.port}"


def parse_url(url: str) -> Endpoint:
    """Split ``url`` (path, file://, git://, http(s)://, ssh://, user@host:path)."""
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if match and not url.startswith(("/", ".")):
            user = match["user"]
            rest = f"{user}@" if user else ""
            return Endpoint(
                f"{rest}{match['host']}:{match['path']}", "ssh", match["host"], 22, user
            )
        return Endpoint(url, "file")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    user = unquote(parts.username) if parts.username else None
    password = Secret(unquote(parts.password)) if parts.password else None
    host = parts.hostname or ""
    netloc = host if ":" not in host else f"[{host}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    if user and scheme in ("ssh", "http", "https"):
        netloc = f"{user}@{netloc}"
    clean = parts._replace(netloc=netloc).geturl()
    return Endpoint(clean, scheme, host, parts.port, user, password)


def effective_auth(endpoint: Endpoint, auth: GitAuth | None) -> GitAuth:
    """``auth``, completed with the user and password that were written in the URL."""
    auth = auth or GitAuth()
    if endpoint.password is not None and auth.password is None:
        auth = replace(auth, password=endpoint.password)
    if endpoint.username and auth.username is None:
        auth = replace(auth, username=endpoint.username)
    return auth


def scrub(text: str, auth: GitAuth) -> str:
    """``text`` on one line, with every secret of ``auth`` masked."""
    text = " ".join(text.split())
    for secret in (auth.password, auth.ssh_passphrase):
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), "***")
    return text


class Callbacks(pygit2.RemoteCallbacks):
    """Credentials, host checks, and what the server said about each pushed ref."""

    def __init__(self, endpoint: Endpoint, auth: GitAuth, known_hosts: Path) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.auth = auth
        self.known_hosts = known_hosts
        self.refused: dict[str, str] = {}
        self.accepted: set[str] = set()
        self.remote_said: list[str] = []
        self.must_exist: str | None = None  # a ref this push may update but never create
        self._asked: set[CredentialType] = set()

    def credentials(self, url: str, username_from_url: str | None, allowed: Any) -> Any:
        user = username_from_url or self.auth.username
        where = self.endpoint.display
        if allowed & CredentialType.USERNAME:
            return pygit2.Username(user or "git")
        for kind in (CredentialType.SSH_KEY, CredentialType.USERPASS_PLAINTEXT):
            if allowed & kind and kind in self._asked:
                raise GitError(
                    f"{where}: authentication failed; check the credentials in sources[].auth",
                    transient=False,
                )
        passphrase = self.auth.ssh_passphrase.reveal() if self.auth.ssh_passphrase else ""
        if allowed & CredentialType.SSH_KEY and self.auth.ssh_key is not None:
            self._asked.add(CredentialType.SSH_KEY)
            key = self.auth.ssh_key.reveal()
            return pygit2.KeypairFromMemory(user or "git", None, key, passphrase)
        if allowed & CredentialType.SSH_KEY and self.auth.ssh_key_file is not None:
            self._asked.add(CredentialType.SSH_KEY)
            return pygit2.Keypair(user or "git", None, str(self.auth.ssh_key_file), passphrase)
        if allowed & CredentialType.USERPASS_PLAINTEXT and self.auth.password is not None:
            self._asked.add(CredentialType.USERPASS_PLAINTEXT)
            return pygit2.UserPass(user or "x-access-token", self.auth.password.reveal())
        raise GitError(
            f"{where}: the server asks for credentials and none fit; set an"
            " ssh key or a token/password in sources[].auth",
            transient=False,
        )

    def certificate_check(self, certificate: None, valid: bool, host: bytes) -> bool:
        if valid:
            return True
        where = self.endpoint.display
        if self.endpoint.scheme != "ssh":
            raise GitError(
                f"{where}: the TLS certificate is not trusted; set sources[].auth.ca_file"
                " to the CA that signed it",
                transient=False,
            )
        name = self.endpoint.known_hosts_name
        if is_known_host(self.known_hosts, name):
            raise GitError(
                f"{where}: the host key of {name} does not match known_hosts; if the key"
                " changed on purpose, replace its line in the known_hosts file",
                transient=False,
            )
        if self.auth.accept_unknown_hosts:
            logger.warning("%s: %s is not in known_hosts; accepted by config", where, name)
            return True
        raise GitError(
            f"{where}: {name} is not in known_hosts; add its key (ssh-keyscan) to"
            " sources[].auth.known_hosts_file",
            transient=False,
        )

    def sideband_progress(self, string: str) -> None:
        self.remote_said.append(string)

    def push_negotiation(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        for update in updates:
            if update.dst_refname == self.must_exist and update.src == _ZERO:
                branch = update.dst_refname.removeprefix("refs/heads/")
                raise GitError(
                    f"branch {branch!r} not found on {self.endpoint.display}; it is not"
                    " created again, check sources[].branch",
                    transient=False,
                )

    def push_update_reference(self, refname: str, message: str | None) -> None:
        if message is None:
            self.accepted.add(refname)
        else:
            self.refused[refname] = message


def is_known_host(known_hosts: Path, name: str) -> bool:
    """Whether any line of ``known_hosts`` names ``name`` (plain, wildcard or hashed)."""
    try:
        lines = known_hosts.read_text(errors="replace").splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0].startswith("@"):
            fields = fields[1:]
        if fields and any(_host_matches(p, name) for p in fields[0].split(",")):
            return True
    return False


def _host_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            salt, digest = (base64.b64decode(p) for p in pattern[3:].split("|", 1))
        except ValueError:
            return False
        mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(mac, digest)
    # OpenSSH patterns know only * and ?; "[host]:port" brackets are literal
    literal = pattern.replace("[", "[[]")
    return not pattern.startswith("!") and fnmatch.fnmatchcase(name, literal)


class _ProcessTrust:
    """libgit2's process-wide settings, owned in one place."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._home: Path | None = None
        self._known_hosts: set[Path] = set()
        self._cas: set[Path] = set()
        self._bundle = b""

    def prepare(self, auth: GitAuth, timeout_s: float) -> Path:
        """Apply the settings ``auth`` needs; returns the known_hosts file libgit2 reads."""
        with self._lock:
            home = self._home_dir()
            pygit2.settings.server_timeout = int(timeout_s * 1000)
            pygit2.settings.server_connect_timeout = int(timeout_s * 1000)
            self._known_hosts.add(auth.known_hosts_file or DEFAULT_KNOWN_HOSTS)
            union = b"".join(_read(p) + b"\n" for p in sorted(self._known_hosts))
            known_hosts = home / ".ssh" / "known_hosts"
            if _read(known_hosts) != union:
                known_hosts.write_bytes(union)
            if auth.ca_file is not None:
                self._cas.add(auth.ca_file)
            if self._cas:
                self._write_bundle(home / "ca-bundle.pem")
            return known_hosts

    def _home_dir(self) -> Path:
        if self._home is None:
            self._home = Path(tempfile.mkdtemp(prefix="automator-git-home-"))
            # one per process: gone at exit, even if something removed it first
            atexit.register(shutil.rmtree, self._home, ignore_errors=True)
            (self._home / ".ssh").mkdir(mode=0o700)
            pygit2.settings.homedir = str(self._home)
            for level in (
                pygit2.enums.ConfigLevel.GLOBAL,
                pygit2.enums.ConfigLevel.XDG,
                pygit2.enums.ConfigLevel.SYSTEM,
            ):
                pygit2.settings.search_path[level] = str(self._home)
        return self._home

    def _write_bundle(self, path: Path) -> None:
        system = ssl.get_default_verify_paths().cafile
        parts = [_read(Path(system))] if system else []
        parts += [_read(p) for p in sorted(self._cas)]
        bundle = b"\n".join(parts)
        if bundle != self._bundle:
            path.write_bytes(bundle)
            pygit2.settings.set_ssl_cert_locations(str(path), None)
            self._bundle = bundle


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


TRUST = _ProcessTrust()
