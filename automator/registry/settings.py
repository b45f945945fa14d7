"""How to reach one registry host: address, TLS, credentials and budgets."""

from __future__ import annotations

from dataclasses import dataclass

from automator.reference import DOCKER_HUB, DOCKER_HUB_API, normalise_domain
from automator.secrets import Secret

MiB = 1024 * 1024
PAGE_SIZE = 1000  # n= on tags/list (ECR refuses more than 1000)
MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """One registry host; hosts with no settings get these defaults."""

    host: str  # as in image references: "ghcr.io", "127.0.0.1:5000", "docker.io"
    insecure: bool = False  # plain HTTP (test and in-cluster registries only)
    username: str | None = None
    password: Secret | None = None
    identity_token: Secret | None = None  # an OAuth2 refresh token, as docker login stores it
    docker_config: str | None = None  # config.json or a kubernetes.io/dockerconfigjson file
    password_file: str | None = None  # read again whenever it changes on disk (a rotated Secret)
    provider: str = "generic"  # aws | gcp | azure: credentials from that cloud's identity
    ca_bundle: str | None = None  # PEM file of CAs to trust instead of the system ones
    client_cert: str | None = None  # PEM client certificate for mTLS
    client_key: str | None = None  # its key, when not in client_cert
    requests_per_second: float = 20.0  # the bucket's refill rate; 0 means no rate limit
    max_concurrency: int = 4  # requests in flight to this host at once
    burst: int = 200  # requests that may go at once before requests_per_second paces them
    # token realms on other hosts that may receive this registry's credentials
    # (the registry's own host and its parent domain are trusted already)
    token_realm_hosts: tuple[str, ...] = ()
    # redirects to other hosts may reach private, loopback or link-local addresses
    private_redirects: bool = False
    # every request, not only redirects, must reach a public address: set for a host
    # that is not listed but let in by allow_unlisted_registries
    public_only: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 120.0  # seconds for one call (a tag listing, a digest), retries included
    max_attempts: int = 4  # per request, for 5xx, 429, resets and timeouts
    max_retry_wait: float = 30.0  # the longest Retry-After we sleep through
    page_size: int = PAGE_SIZE
    max_pages: int = MAX_PAGES
    max_tags: int = 20_000
    max_body: int = 4 * MiB  # a tag page, a manifest or a config blob
    digest_ttl: float = 300.0  # seconds a cached tag -> digest answer is trusted
    preset: str | None = None  # "dockerhub" (the default for docker.io): pulls are counted
    pull_reserve: int = 10  # with a pull-counting preset: pulls of the window never spent

    @property
    def counts_pulls(self) -> bool:
        """Whether manifest GETs are pulls this registry bills (the Docker Hub preset)."""
        return (self.preset or ("dockerhub" if self.key == DOCKER_HUB else "")) == "dockerhub"

    @property
    def key(self) -> str:
        """The host as images name it (Docker Hub spellings folded to ``docker.io``)."""
        return normalise_domain(self.host)

    @property
    def api_base(self) -> str:
        """``scheme://host`` of the /v2/ API."""
        host = DOCKER_HUB_API if self.key == DOCKER_HUB else self.host
        return f"{'http' if self.insecure else 'https'}://{host}"

    @property
    def verify(self) -> bool | str:
        """The ``verify`` argument for requests."""
        return self.ca_bundle or True

    @property
    def cert(self) -> str | tuple[str, str] | None:
        """The ``cert`` argument for requests."""
        if self.client_cert and self.client_key:
            return (self.client_cert, self.client_key)
        return self.client_cert
