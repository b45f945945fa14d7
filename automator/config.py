"""``automator.yaml``: loading, validation, and the JSON Schema editors use.

Every error names the key path and says what to do, in one line:
``automator.yaml: sources[0].branch: field required; add it``.
Secrets are never in this file: it names environment variables or files.

One module, over 400 lines, because the models are the schema: the JSON Schema
editors use is generated from all of them at once, and each field's docstring is
its description there (and in docs/config.md). Only ``cli`` and
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

from automator.config_paths import resolve_paths
from automator.errors import ConfigError
from automator.notify import EVENTS, Event

_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_SHARD_RE = re.compile(r"^(\d+)/(\d+)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class SourceAuth(_Model):
    """Credentials for a Git remote, by reference: env variables or files."""

    token_env: str | None = None
    """Environment variable holding an HTTPS token (GitHub, GitLab, Gitea). Example: GIT_TOKEN."""
    token_file: str | None = None
    """File holding an HTTPS token (a mounted Secret); relative to automator.yaml's directory."""
    username: str | None = None
    """HTTPS user name; with a token the default is x-access-token (GitHub); GitLab wants oauth2."""
    password_env: str | None = None
    """Environment variable holding an HTTPS password."""
    password_file: str | None = None
    """File holding an HTTPS password."""
    ssh_key_file: str | None = None
    """Private key for ssh:// and scp-like remotes (git@host:path)."""
    ssh_passphrase_env: str | None = None
    """Environment variable holding the SSH key's passphrase, if it has one."""
    known_hosts_file: str | None = None
    """known_hosts file the SSH server's key must be in."""
    accept_unknown_hosts: bool = False
    """Let in an SSH host missing from known_hosts (default false; for tests, not production)."""
    ca_file: str | None = None
    """Extra CA certificates (PEM) to trust for an HTTPS remote."""


class Source(_Model):
    """A config repo: where to read manifests and where to write back."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """A name for logs, metrics and `check` output: letters, digits, ``.``, ``_``, ``-``.
    It also names the source's side refs (``refs/automator/first-seen/<name>``,
    ``refs/automator/dashboard/<name>``), so Git's ref rules apply: no ``..``, and no
    ``.`` or ``.lock`` at the end."""
    url: str
    """The Git remote: https://, ssh://, git://, file://, scp-like, or a local path (relative to
    automator.yaml's directory)."""
    branch: str = "main"
    """The branch read and written back to (default main)."""
    paths: list[str] = Field(default_factory=lambda: ["."])
    """Directories (or files) under the repository root to scan; default the whole repo.
    Example: [clusters/production, apps]."""
    auth: SourceAuth | None = None
    """Credentials for the remote, as names of env variables or files (never the secret itself)."""
    git_deadline_seconds: float = Field(default=300.0, gt=0)
    """The longest one fetch, push or branch listing of this remote may take in all,
    however slowly the server answers (each read also has its own 30 s timeout).
    Default 300; e.g. 900 for a very large repository on a slow link."""
    shallow: bool = True
    """Clone only the newest 2,001 commits (default true): what the history readers
    (rollback holds, promote-from soaks) look at, 2,000 commits and their parents, so their
    answers are the same. One that needs more fetches the rest; false clones everything."""
    follow: Literal["ImageUpdateAutomation"] | None = None
    """Follow the repo's Flux ImageUpdateAutomation objects instead of ``paths``/``write``.

    Each automation on ``branch`` says where to read (``update.path``), which ImagePolicies
    to write (``policySelector``), where to push and how to commit. Default: unset.
    Example: ``follow: ImageUpdateAutomation``."""
    dashboard: bool | None = None
    """Keep a status issue (dashboard) for this source (true) or not (false), whatever
    ``write.dashboard`` says. Default: ``write.dashboard``."""

    @field_validator("name")
    @classmethod
    def _ref_safe_name(cls, name: str) -> str:
        # git check-ref-format: a component has no "..", does not end with "." or ".lock"
        # (the charset above already excludes the rest: a leading ".", "@{", ~^:?*[\ )
        why = (
            "holds '..'" if ".." in name
            else "ends with '.lock'" if name.endswith(".lock")
            else "ends with '.'" if name.endswith(".")
            else None
        )  # fmt: skip
        if why is not None:
            safe = re.sub(r"\.\.+", ".", name).removesuffix(".lock").rstrip(".") or "source"
            raise ValueError(
                f"{name!r} {why}, which Git refuses in a ref name (refs/automator/first-seen/"
                f"{name}); rename the source, e.g. to {safe!r}"
            )
        return name

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
    """SSH private key that signs commits (SSHSIG, as `git commit -S` with gpg.format ssh)."""
    ssh_passphrase_env: str | None = None
    """Environment variable holding that key's passphrase, if any."""
    gpg_key: str | None = None
    """Key id or fingerprint in the gpg keyring that signs commits."""
    gpg_home: str | None = None
    """GNUPGHOME for gpg_key (default gpg's own)."""


class Commit(_Model):
    """The commits automator makes: who, what message, signed or not."""

    author: str = "automator <automator@localhost>"
    """Author of automator's commits, ``Name <email>``."""
    committer: str | None = None
    """Committer, ``Name <email>``; default the author."""
    message_template: str | None = None
    """Commit message template; placeholders $subject, $changes, $count, $images, $files."""
    skip_ci: bool = False
    """Append [skip ci] to commit messages (default false)."""
    sign: Signing | None = None
    """Sign commits with an SSH or a GPG key; unsigned when absent."""

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
    """The forge's API: github, gitlab, gitea or forgejo."""
    repository: str
    """OWNER/NAME; on GitLab also a numeric project id or group/subgroup/project."""
    api_url: str | None = None
    """API base URL; default the public service of ``kind``. Set it for GitHub Enterprise
    or a self-hosted GitLab, Gitea or Forgejo."""
    token_env: str | None = None
    """Environment variable holding the API token."""
    token_file: str | None = None
    """File holding the API token."""
    labels: list[str] = Field(default_factory=list)
    """Labels put on every pull request, e.g. [dependencies]."""
    auto_merge: bool = False
    """Ask the forge to merge the pull request once its checks pass (default false)."""
    max_wait: float = Field(default=60.0, ge=0)
    """Seconds a rate limit may be waited out before the call fails (default 60)."""


class Write(_Model):
    """How changes reach the config repo."""

    mode: Literal["push", "pull-request", "dry-run"] = "push"
    """push: commit to the branch (default); pull-request: a branch and a pull request per
    group; dry-run: plan and write nothing."""
    group: Literal["all", "image", "workload", "directory"] = "all"
    """pull-request mode: one PR for all changes, or one per image, workload or directory."""
    commit: Commit = Field(default_factory=Commit)
    """Author, message and signing of the commits."""
    forge: Forge | None = None
    """Where pull requests are opened; required by mode pull-request."""
    dashboard: bool = False
    """Keep one status issue (dashboard) per source on ``write.forge``, edited in place:
    every Site, pending updates with their pull requests, declined versions, holds,
    promotions in soak, errors and skips. Any mode but dry-run; needs ``write.forge``.
    Close the issue to stop it, reopen it to resume. Default false; ``sources[].dashboard``
    overrides it per source."""
    dashboard_title: str = Field(default="automator dashboard: {source}", min_length=1)
    """The dashboard issue's title; ``{source}`` stands for the source's name.
    Default ``automator dashboard: {source}``."""

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
    """How to reach one registry host, and how hard to use it.

    Every key but ``host`` has a default; the README's registry settings table lists them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    host: str
    """The registry as image references name it: ``ghcr.io``, ``127.0.0.1:5000``, ``docker.io``."""
    insecure: bool = False
    """Talk plain HTTP (test and in-cluster registries only). Default: false."""
    username: str | None = None
    """User name for Basic auth or a token exchange, with ``password_env``/``password_file``."""
    password_env: str | None = None
    """Environment variable that holds the password or token. Default: none."""
    password_file: str | None = None
    """File that holds the password or token (a mounted Kubernetes Secret)."""
    docker_config: str | None = None
    """A docker ``config.json`` or ``kubernetes.io/dockerconfigjson`` file (auths, helpers)."""
    ca_bundle: str | None = None
    """PEM file of CAs to trust for this host instead of the system ones. Default: none."""
    client_cert: str | None = None
    """PEM client certificate for mutual TLS. Default: none."""
    client_key: str | None = None
    """The client certificate's key, when not in ``client_cert``. Default: none."""
    requests_per_second: float = Field(default=20.0, ge=0)
    """How fast the request bucket refills once ``burst`` is spent; 0: no limit. Default: 20."""
    max_concurrency: int = Field(default=4, ge=1)
    """Requests in flight to this host at once. Default: 4."""
    token_realm_hosts: list[str] = Field(default_factory=list)
    """Token realms on other domains that may receive this registry's credentials (the
    registry's own host and parent domain are trusted already). Default: none."""
    burst: int = Field(default=200, ge=1)
    """Requests that may go at once before ``requests_per_second`` paces them, so an
    ordinary cycle is never slowed by us; a 429 drains it. Default: 200. Example: 50."""
    preset: Literal["dockerhub", "none"] | None = None
    """``dockerhub``: count manifest GETs as the pulls Docker Hub bills and keep
    ``pull_reserve`` of them. Default: ``dockerhub`` for docker.io, none elsewhere."""
    pull_reserve: int = Field(default=10, ge=0)
    """With the ``dockerhub`` preset, pulls of the rate-limit window never spent: lookups
    that would dip into them wait for the window. Default: 10. Example: 30."""
    provider: Literal["generic", "aws", "gcp", "azure"] = "generic"
    """Where the credentials come from: ``aws`` (ECR), ``gcp`` (Artifact Registry, GCR) or
    ``azure`` (ACR) mint them from the pod's cloud identity; ``generic`` (the default) uses
    username/password, password_file or docker_config. Example: ``provider: aws``."""
    private_redirects: bool = False
    """Let this registry's redirects and token realms on other hosts reach loopback,
    private or link-local addresses. Default false: only public addresses, so a registry
    cannot aim automator at 169.254.169.254. Example: a registry whose blob store is in-cluster."""
    max_tags: int = Field(default=20_000, ge=1, le=10_000_000)
    """The most tags read from one repository; a longer listing skips its images with an
    error. Default 20000. Example: 250000 for a repository with a tag per commit."""
    max_index_bytes: int = Field(default=64 << 20, ge=1)
    """For Helm repositories on this host: the most bytes of an ``index.yaml`` read (counted
    after gzip is decoded); a larger index is refused in one line and its releases are
    skipped. The index is parsed as it arrives, so this bounds time and bandwidth, not
    memory. Default 67108864 (64 MiB). Example: 268435456 for a very large repository."""

    cosign: Cosign | None = None
    """Who may sign this registry's images for ``verify=cosign`` policies; replaces the
    top-level ``cosign`` for this host. Default: the top-level one."""

    @model_validator(mode="after")
    def _cloud_or_secrets(self) -> Registry:
        named = [k for k in ("password_env", "password_file", "docker_config") if getattr(self, k)]
        if self.provider != "generic" and named:
            raise ValueError(
                f"provider {self.provider} mints its own credentials; remove {named[0]}"
            )
        return self


class Webhooks(_Model):
    """Push webhooks from registries: who may send them and how much."""

    secret_env: str | None = None
    """Environment variable holding the shared secret or HMAC key senders must present."""
    secret_file: str | None = None
    """... or a file holding it (a mounted Kubernetes Secret). Set exactly one."""
    max_body_bytes: int = Field(default=1_048_576, gt=0, le=16_777_216)
    """Larger bodies get 413 unread (default 1 MiB, at most 16 MiB)."""
    requests_per_second: float = Field(default=10.0, gt=0)
    """Deliveries per second per sender address, refilled continuously; over it, 429
    (default 10)."""
    burst: int = Field(default=100, ge=1)
    """Deliveries a sender may make at once before the rate applies (default 100)."""

    @model_validator(mode="after")
    def _one_secret(self) -> Webhooks:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("set exactly one of secret_env or secret_file")
        return self


class NotifyTarget(_Model):
    """One notification endpoint; its URL is a secret, so it comes from env or a file."""

    url_env: str | None = None
    """Environment variable holding the endpoint URL (a secret)."""
    url_file: str | None = None
    """... or a file holding it. Set exactly one."""
    events: list[Event] = Field(default_factory=lambda: list(EVENTS))
    """Which events are sent: commit, pull-request, failure (default all)."""

    @model_validator(mode="after")
    def _one_url(self) -> NotifyTarget:
        if (self.url_env is None) == (self.url_file is None):
            raise ValueError("set exactly one of url_env or url_file")
        return self


class Notifications(_Model):
    """Where to say that a commit, a pull request or a failure happened."""

    slack: NotifyTarget | None = None
    """A Slack incoming webhook."""
    webhook: NotifyTarget | None = None
    """Any endpoint that takes a JSON POST."""
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """Seconds one notification may take before it is given up (default 5, at most 60)."""


class Rule(_Model):
    """One policy for every workload container it matches, instead of an annotation on each.

    Rules are tried in order and the first match wins; a workload annotation or a
    ``# automator:`` marker beats every rule. Fields left empty match anything.
    """

    name: str | None = None
    """A name `check` shows for the Sites this rule governs; default ``rules[<index>]``."""
    paths: list[str] = Field(default_factory=list)
    """Globs on repo-relative file paths (``*`` within a segment, ``**`` across); a glob
    also covers everything under a matching directory. Example: ``[apps/**]``."""
    images: list[str] = Field(default_factory=list)
    """Globs on the image repository, without tag: ``ghcr.io/acme/*``, ``nginx``."""
    kinds: list[str] = Field(default_factory=list)
    """Workload kinds, e.g. ``[Deployment, StatefulSet]``."""
    namespaces: list[str] = Field(default_factory=list)
    """``metadata.namespace`` values; a manifest without one matches only an empty list."""
    containers: list[str] = Field(default_factory=list)
    """Container name globs, e.g. ``[api, "*-sidecar"]``."""
    charts: list[str] = Field(default_factory=list)
    """Chart globs: the rule governs chart versions (HelmRelease, OCIRepository, Argo CD Helm
    sources, helmCharts, Chart.yaml dependencies) instead of containers. Matched against the
    chart's name, its location and its URL: ``[web]``, ``[charts.example.com/**]``,
    ``["oci://ghcr.io/acme/charts/*"]`` (docs/charts.md)."""
    policy: str
    """The policy, as in an annotation (``semver:^1``), or ``off`` to leave what matches alone
    (an exception written before a broader rule). Required unless ``hold`` is set."""
    hold: str | None = None
    """Hold every container this rule matches at the tag it runs, with this reason (shown in
    check, plan and run), whatever governs it; without a policy the rule governs nothing."""
    options: dict[str, str | bool | int] = Field(default_factory=dict)
    """Policy options appended after ``;``: ``{min-age: 24h, pin-digest: true}``; ``true``
    writes the bare option name, ``false`` leaves it out."""

    @model_validator(mode="before")
    @classmethod
    def _hold_alone(cls, data: Any) -> Any:
        """A rule that only holds needs no policy."""
        if isinstance(data, dict) and "policy" not in data and data.get("hold") is not None:
            return {**data, "policy": ""}
        return data

    @model_validator(mode="after")
    def _policy_parses(self) -> Rule:
        import policies

        if self.hold is not None and not self.hold.strip():
            raise ValueError("hold is empty; write the reason, such as 'change freeze until 12-10'")
        if not self.policy.strip() and self.hold is not None:
            if self.options:
                raise ValueError("a rule without a policy takes no options; remove them")
            return self

        if self.policy.strip() == "off":
            if self.options:
                raise ValueError("policy off takes no options; remove them")
            return self
        try:
            policies.parse_policy(self.policy_text())
        except policies.PolicyError as exc:
            raise ValueError(f"{exc}; write a policy such as semver:~1.4") from exc
        return self

    def policy_text(self) -> str:
        """The policy with its options: ``semver:^1;min-age=24h;pin-digest``."""
        text = self.policy.strip()
        for key, value in self.options.items():
            if value is True:
                text += f";{key}"
            elif value is not False:
                text += f";{key}={value}"
        return text


class Config(_Model):
    """The whole of ``automator.yaml``."""

    sources: list[Source] = Field(min_length=1)
    """The config repos to keep up to date (at least one)."""
    write: Write = Field(default_factory=Write)
    """How changes are written back: push, pull requests, or not at all."""
    registries: list[Registry] = Field(default_factory=list)
    """How to reach each registry host: credentials, TLS, plain HTTP, request limits."""
    allow_unlisted_registries: bool | list[str] = False
    """Registry hosts not under registries: that may still be contacted, at public
    addresses only. Default false: an image on an unlisted host is skipped. true lets in
    every host; a list of patterns some: ["docker.io", "*.gcr.io", "ghcr.io"]."""
    interval: str = "5m"
    """Time between scans of a source in the daemon, like 30s, 5m or 1h30m (default 5m)."""
    listen: str = ":8080"
    """Address for probes, metrics and webhooks, like :8080 or 127.0.0.1:9000 (default :8080)."""
    state_dir: str = "/var/lib/automator"
    """Where bare clones and the registry cache live (default /var/lib/automator)."""
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    """Each wait is interval * (1 +- jitter), so sources do not scan in step (default 0.1)."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """Logs as text or JSON lines; auto: text on a terminal, else JSON."""
    webhooks: Webhooks | None = None
    """Registry push webhooks: their secret and limits; off when absent."""
    notifications: Notifications = Field(default_factory=Notifications)
    """Where commits, pull requests and failures are announced."""
    unready_after_failures: int = Field(default=3, ge=1)
    """The daemon's /readyz fails once a source's last this many reconciles all failed,
    so Kubernetes can act. Default 3; e.g. 5 for a flaky network."""
    min_age_from: Literal["build", "first-seen"] = "build"
    """What a policy's ``min-age`` counts from when it has no ``age-from=``: ``build``, the
    image's own build time (which its publisher sets), or ``first-seen``, when automator
    first saw the tag, recorded on ``refs/automator/first-seen/<source>`` of the config
    repo. Default build."""
    rules: list[Rule] = Field(default_factory=list)
    """Policies for many workload containers at once, tried in order (first match wins);
    a workload annotation or a marker beats every rule. Default: none."""
    cosign: Cosign | None = None
    """Who may sign images for ``verify=cosign`` policies, on every registry without its
    own ``cosign``. Default: none (such policies adopt nothing). Example: {keys: [cosign.pub]}"""
    shard: str | None = None
    """This replica's share of the sources, ``i/N`` (0 <= i < N): it reconciles only the
    sources that rendezvous hashing of their name and URL gives to replica i of N. Beats
    ``replicas``. Env AUTOMATOR_SHARD, option --shard. Default: every source."""
    replicas: int | None = Field(default=None, ge=1)
    """Replicas of a StatefulSet sharing the sources; this one's index is the ordinal
    ending its hostname (``automator-2`` is 2). Env AUTOMATOR_REPLICAS. Default: unsharded."""
    peer_url: str | None = None
    """Where the other replicas are, ``{index}`` standing for a replica's index; each webhook
    is forwarded to them, e.g. ``http://automator-{index}.automator-shards:8080`` (the
    headless Service's stable names). Env AUTOMATOR_PEER_URL. Default: not forwarded."""

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

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        match = _SHARD_RE.match(value) if value is not None else None
        if value is not None and (match is None or int(match[1]) >= int(match[2])):
            raise ValueError(f"{value!r} is not a shard like 0/4 (replica i of N, 0 <= i < N)")
        return value

    @field_validator("peer_url")
    @classmethod
    def _peer_url(cls, value: str | None) -> str | None:
        if value is not None and "{index}" not in value:
            raise ValueError(
                f"{value!r} has no {{index}}; e.g. http://automator-{{index}}.svc:8080"
            )
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @model_validator(mode="after")
    def _forge_for_dashboards(self) -> Config:
        wanted = [s.name for s in self.sources if self.dashboard_for(s)]
        if wanted and self.write.forge is None:
            raise ValueError(
                f"the dashboard of source {wanted[0]} needs write.forge (kind, repository,"
                " token_env); add it, or set write.dashboard: false"
            )
        return self

    def dashboard_for(self, source: Source) -> bool:
        """Whether ``source`` keeps a dashboard issue (its own setting, else write's)."""
        return self.write.dashboard if source.dashboard is None else source.dashboard


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
    "AUTOMATOR_SHARD": "shard",
    "AUTOMATOR_REPLICAS": "replicas",
    "AUTOMATOR_PEER_URL": "peer_url",
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
    """Read and validate ``path``; raise ConfigError with the key path on any problem.

    Relative paths in it (source urls, ``*_file`` keys, ...) are read from its directory.
    """
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
    data = resolve_paths(data, path.absolute().parent, str(path))
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
