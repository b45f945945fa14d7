"""Webhook payloads: the image repositories each sender's push notification names.

Each payload kind has a parser that returns the image references it names; every
name must pass :func:`automator.reference.parse_reference` and only its canonical
repository name leaves this module.

Payload field names follow the senders' public documentation:

- ``dockerhub``: ``repository.repo_name`` + ``push_data.tag`` (Docker Hub webhooks)
- ``distribution``: ``events[].action == "push"``, ``events[].target.repository``,
  ``.tag``, ``events[].request.host`` (distribution registry notifications)
- ``harbor``: ``type == "PUSH_ARTIFACT"``, ``event_data.resources[].resource_url``
- ``quay``: ``docker_url`` + ``updated_tags`` (Quay repository push notification)
- ``github``: ``registry_package`` / ``package`` events, ``action == "published"``,
  ``...package_version.package_url`` (GHCR)
- ``generic``: ``{"image": "ghcr.io/acme/api", "tag": "1.2.3"}``
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from automator.errors import AutomatorError, ReferenceError_
from automator.reference import parse_reference

MAX_DEPTH = 32  # real payloads nest under 10 deep; json.loads recurses once per level
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class PayloadError(AutomatorError):
    """A webhook body is not the JSON its kind promises."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one webhook named: canonical repository names, and the names refused."""

    kind: str
    images: frozenset[str]
    refused: tuple[str, ...] = ()


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _dockerhub(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    name = _get(doc, "repository", "repo_name")
    if isinstance(name, str):
        yield f"docker.io/{name}"


def _distribution(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    events = _get(doc, "events")
    for event in events if isinstance(events, list) else []:
        if _get(event, "action") != "push" or not _get(event, "target", "tag"):
            continue  # pulls, deletes and blob or digest-only pushes change no tag
        host, repository = _get(event, "request", "host"), _get(event, "target", "repository")
        if isinstance(host, str) and isinstance(repository, str):
            yield f"{host}/{repository}"


def _harbor(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    if _get(doc, "type") != "PUSH_ARTIFACT":
        return
    resources = _get(doc, "event_data", "resources")
    for resource in resources if isinstance(resources, list) else []:
        url = _get(resource, "resource_url")
        if isinstance(url, str):
            yield url


def _quay(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    url = _get(doc, "docker_url")
    if isinstance(url, str):
        yield url


def _github(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    event = headers.get("x-github-event", "registry_package")
    if event not in ("registry_package", "package") or _get(doc, "action") != "published":
        return  # "ping" and other events name no image
    package = _get(doc, event)
    url = _get(package, "package_version", "package_url")
    if isinstance(url, str) and url:
        yield url
    elif isinstance(_get(package, "namespace"), str) and isinstance(_get(package, "name"), str):
        yield f"ghcr.io/{package['namespace'].lower()}/{package['name'].lower()}"


def _generic(doc: Any, headers: Mapping[str, str]) -> Iterator[str]:
    image = _get(doc, "image")
    if not isinstance(image, str):
        raise PayloadError('expected {"image": "registry/repository", "tag": "..."}')
    yield image


PARSERS: dict[str, Callable[[Any, Mapping[str, str]], Iterator[str]]] = {
    "dockerhub": _dockerhub,
    "distribution": _distribution,
    "harbor": _harbor,
    "quay": _quay,
    "github": _github,
    "generic": _generic,
}


def parse_delivery(kind: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Read a ``kind`` payload; ``headers`` keys are lower-case. Raises PayloadError."""
    parser = PARSERS.get(kind)
    if parser is None:
        raise PayloadError(f"unknown webhook kind {kind!r}; use one of {', '.join(PARSERS)}")
    if too_deep(body, MAX_DEPTH):
        raise PayloadError(f"{kind} webhook: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"{kind} webhook: the body is not JSON") from exc
    images: set[str] = set()
    refused: list[str] = []
    for text in parser(doc, headers):
        try:
            images.add(parse_reference(text).canonical_name)
        except ReferenceError_:
            refused.append(text[:200])
    return Delivery(kind, frozenset(images), tuple(refused))


def too_deep(body: bytes, limit: int) -> bool:
    """Whether ``body``'s arrays and objects nest deeper than ``limit``, strings aside.

    Counted before parsing, so a body of 100,000 ``[`` is refused without recursing.
    """
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False
