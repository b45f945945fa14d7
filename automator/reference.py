"""Image references: the distribution reference grammar and its normalisation.

Grammar (github.com/distribution/reference v0.6.0, reference.go and regexp.go):

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [ domain "/" ] path-component [ "/" path-component ]*
    domain           := host [ ":" port ]
    host             := domain-name | IPv4 | "[" IPv6 "]"
    path-component   := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
    tag              := [\\w][\\w.-]{0,127}
    digest           := algorithm ":" hex

Normalisation follows ``splitDockerDomain``: the first path component is a domain
only if it contains ``.`` or ``:``, is ``localhost`` or has an upper-case letter;
otherwise the image is on Docker Hub (``docker.io``), where a one-component path gets
``library/``. ``index.docker.io`` and ``registry-1.docker.io`` mean ``docker.io``.

Anything that fails the grammar is refused: no string from a registry reaches YAML
unless it parses here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from automator.errors import ReferenceError_

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"  # the host that serves docker.io's /v2/ API
DOCKER_HUB_ALIASES = frozenset({"", "docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"

REFERENCE_RE = re.compile(
    rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?", re.ASCII
)
TAG_RE = re.compile(_TAG, re.ASCII)
DIGEST_RE = re.compile(_DIGEST, re.ASCII)
NAME_RE = re.compile(_NAME, re.ASCII)
DOMAIN_RE = re.compile(_DOMAIN, re.ASCII)
NAME_MAX = 255
_IMAGE_ID_RE = re.compile(r"[a-f0-9]{64}", re.ASCII)
# go-digest's registered algorithms and their hex lengths; the hex must be lower case.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed image reference. ``domain`` and ``path`` are as written."""

    domain: str  # "" when the reference names no registry (Docker Hub implied)
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository name as written: ``[domain/]path``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def registry(self) -> str:
        """The registry host (``docker.io`` when none is written)."""
        return normalise_domain(self.domain)

    @property
    def repository(self) -> str:
        """The repository path on its registry (``library/`` added on Docker Hub)."""
        if self.registry == DOCKER_HUB and "/" not in self.path:
            return f"library/{self.path}"
        return self.path

    @property
    def canonical_name(self) -> str:
        """``registry/repository``: the key under which tags are fetched and cached."""
        return f"{self.registry}/{self.repository}"

    def normalised(self) -> ImageRef:
        """The fully qualified form: ``nginx`` -> ``docker.io/library/nginx``."""
        return ImageRef(self.registry, self.repository, self.tag, self.digest)

    def with_tag(self, tag: str, digest: str | None = None) -> ImageRef:
        """The same repository at another tag (and digest, if given)."""
        return ImageRef(
            self.domain, self.path, check_tag(tag), None if digest is None else check_digest(digest)
        )

    def __str__(self) -> str:
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def normalise_domain(domain: str) -> str:
    """Map the spellings of Docker Hub onto ``docker.io``; other hosts are kept as written."""
    if domain.lower() in DOCKER_HUB_ALIASES:
        return DOCKER_HUB
    return domain


def parse_reference(text: str) -> ImageRef:
    """Parse ``text`` as an image reference, or raise ReferenceError_."""
    match = REFERENCE_RE.fullmatch(text)
    if match is None:
        shown = text if len(text) <= 80 else text[:80] + "..."
        raise ReferenceError_(
            f"{shown!r} is not an image reference; expected [registry/]name[:tag][@digest]"
            " with a lower-case name"
        )
    name = match.group("name")
    if len(name) > NAME_MAX:
        raise ReferenceError_(f"{text[:40]!r}...: repository name longer than {NAME_MAX}")
    domain, path = split_name(name)
    if not domain and _IMAGE_ID_RE.fullmatch(path):
        raise ReferenceError_(
            f"{text[:20]!r}...: a 64-hex string is an image ID, not a name; write the repository"
        )
    digest = match.group("digest")
    return ImageRef(
        domain, path, match.group("tag"), None if digest is None else check_digest(digest)
    )


def split_name(name: str) -> tuple[str, str]:
    """Split a repository name into (domain, path), as the docker CLI does."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return "", name


def check_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag, else raise ReferenceError_."""
    if not isinstance(tag, str) or TAG_RE.fullmatch(tag) is None:
        raise ReferenceError_(f"{str(tag)[:60]!r} is not a valid tag")
    return tag


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a well-formed digest of a known algorithm, else raise."""
    algorithm, _, hex_part = digest.partition(":")
    length = DIGEST_HEX_LENGTHS.get(algorithm)
    if (
        length is None
        or DIGEST_RE.fullmatch(digest) is None
        or len(hex_part) != length
        or hex_part != hex_part.lower()
    ):
        raise ReferenceError_(
            f"{digest[:80]!r} is not a valid digest; expected sha256: and 64 lower-case hex digits"
        )
    return digest


def is_tag(tag: object) -> bool:
    """True when ``tag`` is a string that the tag grammar accepts."""
    return isinstance(tag, str) and TAG_RE.fullmatch(tag) is not None
