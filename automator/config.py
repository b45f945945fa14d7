"""``automator.yaml``: loading, validation, and the JSON Schema editors use.

Every error names the key path and says what to do, in one line:
``automator.yaml: sources[0].branch: field required; add it``.
Secrets are never in this file: it names environment variables or files.

One module, a little over 300 lines, because the models are the schema: the JSON
Schema editors use is generated from all of them at once. Only ``cli`` and
``adapters`` import it; every other module gets frozen settings built from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from automator.errors import ConfigError
from automator.notify import EVENTS, Event

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceAuth(_Model):
    """Credentials for a Git remote, by reference: env variables or files."""

    token_env: str | None = None  # HTTPS token (GitHub, GitLab, Gitea)
    token_file: str | None = None
    username: str | None = None  # with a token: x-access-token (GitHub), oauth2 (GitLab)
    password_env: str | None = None
    password_file: str | None = None
    ssh_key_file: str | None = None
    ssh_passphrase_env: str | None = None
    known_hosts_file: str | None = None
    accept_unknown_hosts: bool = False  # let in an SSH host missing from known_hosts
    ca_file: str | None = None  # extra CA certificates (PEM) for HTTPS


class Source(_Model):
    """A config repo: where to read manifests and where to write back."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    url: str
    branch: str = "main"
    paths: list[str] = Field(default_factory=lambda: ["."])
    auth: SourceAuth | None = None

    @field_validator("paths")
    @classmethod
    def _relative_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"{path!r} must be relative to the repository root, without ..")
        return paths


class Signing(_Model):
    """Sign commits with an SSH key (SSHSIG, as ssh-keygen does) or a GPG key."""

    ssh_key_file: str | None = None
    ssh_passphrase_env: str | None = None
    gpg_key: str | None = None  # key id or fingerprint in the gpg keyring
    gpg_home: str | None = None


class Commit(_Model):
    author: str = "automator <automator@localhost>"
    committer: str | None = None  # default: the author
    message_template: str | None = None  # $subject, $changes, $count, $images, $files
    skip_ci: bool = False  # append [skip ci]
    sign: Signing | None = None

    @field_validator("author", "committer")
    @classmethod
    def _identity(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^<>]+<[^<>]+>", value.strip()):
            raise ValueError(f"{value!r} is not of the form 'Name <email>'")
        return value

    @field_validator("message_template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            from automator.git import check_template

            try:
                check_template(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from exc
        return value


class Forge(_Model):
    """Where pull requests are opened (write.mode: pull-request)."""

    kind: Literal["github", "gitlab", "gitea", "forgejo"]
    repository: str  # OWNER/NAME; on GitLab also a numeric project id or group/project
    api_url: str | None = None  # default: the public service of ``kind``
    token_env: str | None = None
    token_file: str | None = None
    labels: list[str] = Field(default_factory=list)
    auto_merge: bool = False
    max_wait: float = Field(default=60.0, ge=0)  # seconds a rate limit may be waited out


class Write(_Model):
    mode: Literal["push", "pull-request", "dry-run"] = "push"
    group: Literal["all", "image", "workload", "directory"] = "all"
    commit: Commit = Field(default_factory=Commit)
    forge: Forge | None = None

    @model_validator(mode="after")
    def _forge_for_pull_requests(self) -> Write:
        if self.mode == "pull-request" and self.forge is None:
            raise ValueError("mode pull-request needs write.forge (kind, repository, token_env)")
        return self


class KeylessSigner(_Model):
    """A keyless (Sigstore) signer: a certificate identity and the OIDC issuer behind it."""

    identity: str
    """The signing certificate's SAN: an email, or a URI such as a CI workflow's.
    Example: https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main"""
    issuer: str
    """The OIDC issuer in the certificate (extension 1.3.6.1.4.1.57264.1.1).
    Example: https://token.actions.githubusercontent.com"""


class Cosign(_Model):
    """Who may sign the images that ``verify=cosign`` policies adopt."""

    keys: list[str] = Field(default_factory=list)
    """PEM public key files (ECDSA P-256 or Ed25519); a signature by any one passes.
    Default: none. Example: [/etc/automator/cosign.pub]"""
    keyless: list[KeylessSigner] = Field(default_factory=list)
    """Keyless signers, verified offline against ``trusted_root``; any one passes.
    Default: none. Example: [{identity: ci@acme.test, issuer: https://oidc.acme.test}]"""
    trusted_root: str | None = None
    """A Sigstore trusted_root.json (CAs, CT logs, transparency logs) for ``keyless``.
    Default: none. Example: /etc/automator/trusted_root.json"""
    referrers: bool = True
    """Also look among the image's OCI 1.1 referrers (the referrers API, else the
    sha256-<hex> fallback tag), besides cosign's sha256-<hex>.sig tag. Default: true."""

    @model_validator(mode="after")
    def _someone(self) -> Cosign:
        if not self.keys and not self.keyless:
            raise ValueError("name at least one of keys or keyless")
        if self.keyless and self.trusted_root is None:
            raise ValueError("keyless needs trusted_root (a Sigstore trusted_root.json)")
        return self


class Registry(_Model):
    """How to reach one registry host."""

    host: str
    insecure: bool = False  # plain HTTP
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    docker_config: str | None = None  # config.json or a kubernetes.io/dockerconfigjson
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    requests_per_second: float = Field(default=20.0, ge=0)  # 0: no limit
    max_concurrency: int = Field(default=4, ge=1)
    # token realms on other domains that may receive this registry's credentials
    token_realm_hosts: list[str] = Field(default_factory=list)
    cosign: Cosign | None = None
    """Who may sign this registry's images for ``verify=cosign`` policies; replaces the
    top-level ``cosign`` for this host. Default: the top-level one."""


class Webhooks(_Model):
    """Push webhooks from registries: who may send them and how much."""

    secret_env: str | None = None  # the shared secret or HMAC key, from the environment
    secret_file: str | None = None  # ... or from a file (a mounted Kubernetes Secret)
    max_body_bytes: int = Field(default=1_048_576, gt=0, le=16_777_216)
    requests_per_second: float = Field(default=10.0, gt=0)  # per sender, refilled continuously
    burst: int = Field(default=100, ge=1)  # per sender

    @model_validator(mode="after")
    def _one_secret(self) -> Webhooks:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("set exactly one of secret_env or secret_file")
        return self


class NotifyTarget(_Model):
    """One notification endpoint; its URL is a secret, so it comes from env or a file."""

    url_env: str | None = None
    url_file: str | None = None
    events: list[Event] = Field(default_factory=lambda: list(EVENTS))

    @model_validator(mode="after")
    def _one_url(self) -> NotifyTarget:
        if (self.url_env is None) == (self.url_file is None):
            raise ValueError("set exactly one of url_env or url_file")
        return self


class Notifications(_Model):
    """Where to say that a commit, a pull request or a failure happened."""

    slack: NotifyTarget | None = None  # a Slack incoming webhook
    webhook: NotifyTarget | None = None  # any endpoint that takes a JSON POST
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)


class Config(_Model):
    """The whole of ``automator.yaml``."""

    sources: list[Source] = Field(min_length=1)
    write: Write = Field(default_factory=Write)
    registries: list[Registry] = Field(default_factory=list)
    interval: str = "5m"
    listen: str = ":8080"
    state_dir: str = "/var/lib/automator"
    jitter: float = Field(default=0.1, ge=0, le=0.5)  # each wait is interval * (1 +- jitter)
    log_format: Literal["auto", "json", "text"] = "auto"
    webhooks: Webhooks | None = None
    notifications: Notifications = Field(default_factory=Notifications)
    cosign: Cosign | None = None
    """Who may sign images for ``verify=cosign`` policies, on every registry without its
    own ``cosign``. Default: none (such policies adopt nothing). Example: {keys: [cosign.pub]}"""

    @field_validator("interval")
    @classmethod
    def _duration(cls, value: str) -> str:
        match = _DURATION_RE.match(value)
        if not value or match is None:
            raise ValueError(f"{value!r} is not a duration like 30s, 5m or 1h30m")
        return value

    @property
    def interval_seconds(self) -> int:
        match = _DURATION_RE.match(self.interval)
        assert match is not None
        hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return hours * 3600 + minutes * 60 + seconds

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


def parse_listen(value: str) -> tuple[str, int]:
    """``":8080"`` -> ``("", 8080)``; ``"127.0.0.1:9000"`` -> ``("127.0.0.1", 9000)``."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{value!r} is not an address like :8080 or 127.0.0.1:8080")
    return host.strip("[]"), int(port)


# Environment variables that override a key of automator.yaml. Precedence:
# command-line option > environment variable > automator.yaml > default.
ENV_OVERRIDES = {
    "AUTOMATOR_INTERVAL": "interval",
    "AUTOMATOR_LISTEN": "listen",
    "AUTOMATOR_STATE_DIR": "state_dir",
    "AUTOMATOR_LOG_FORMAT": "log_format",
}


def with_overrides(
    config: Config,
    *,
    env: Mapping[str, str] | None = None,
    cli: Mapping[str, str | None] | None = None,
) -> Config:
    """``config`` with ``AUTOMATOR_*`` variables, then command-line values, applied on top."""
    env = os.environ if env is None else env
    data = config.model_dump(mode="json", exclude_unset=True)
    for variable, key in ENV_OVERRIDES.items():
        if env.get(variable):
            data[key] = env[variable]
            _check_override(data, key, variable)
    for key, value in (cli or {}).items():
        if value is not None:
            data[key] = value
            _check_override(data, key, f"--{key.replace('_', '-')}")
    return Config.model_validate(data)


def _check_override(data: dict[str, Any], key: str, origin: str) -> None:
    try:
        Config.model_validate(data)
    except ValidationError as exc:
        bad = [e for e in exc.errors() if e["loc"][:1] == (key,)]
        if bad:
            message = bad[0]["msg"].removeprefix("Value error, ")
            raise ConfigError(f"{origin}: {message}") from exc


def load_config(path: str | Path) -> Config:
    """Read and validate ``path``; raise ConfigError with the key path on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: no such file; pass --config with the path to automator.yaml"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from exc
    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {problem}; fix the syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'sources' key at the top")
    return parse_config(data, origin=str(path))


def parse_config(data: dict[str, Any], *, origin: str = "automator.yaml") -> Config:
    """Validate already-loaded data."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {_first_error(exc)}") from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{path}: required; add it"
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key; check its spelling"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{path}: {message}{more}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of automator.yaml."""
    return Config.model_json_schema()
