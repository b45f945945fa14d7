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

A parser yields a reference, or (repository, tag) where the payload names the tag
apart; a named tag also reaches ``Delivery.tags``, so its cached digest is evicted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from automator.errors import AutomatorError, ReferenceError_
from automator.reference import is_tag, parse_reference

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
    tags: frozenset[tuple[str, str]] = frozenset()  # (canonical repository, tag) pushed


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


Named = str | tuple[str, object]  # a reference, or (repository, the tag the payload names)


def _dockerhub(doc: Any, headers: Mapping[str, str]) -> Iterator[Named]:
    name = _get(doc, "repository", "repo_name")
    if isinstance(name, str):
        yield f"docker.io/{name}", _get(doc, "push_data", "tag")


def _distribution(doc: Any, headers: Mapping[str, str]) -> Iterator[Named]:
    events = _get(doc, "events")
    for event in events if isinstance(events, list) else []:
        if _get(event, "action") != "push" or not _get(event, "target", "tag"):
            continue  # pulls, deletes and blob or digest-only pushes change no tag
        host, repository = _get(event, "request", "host"), _get(event, "target", "repository")
        if isinstance(host, str) and isinstance(repository, str):
            yield f"{host}/{repository}", _get(event, "target", "tag")


def _harbor(doc: Any, headers: Mapping[str, str]) -> Iterator[Named]:
    if _get(doc, "type") != "PUSH_ARTIFACT":
        return
    resources = _get(doc, "event_data", "resources")
    for resource in resources if isinstance(resources, list) else []:
        url = _get(resource, "resource_url")
        if isinstance(url, str):
            yield url


def _quay(doc: Any, headers: Mapping[str, str]) -> Iterator[Named]:
    url = _get(doc, "docker_url")
    if isinstance(url, str):
        updated = _get(doc, "updated_tags")
        yield url
        for tag in updated if isinstance(updated, list) else []:
            yield url, tag


def _github(doc: Any, headers: Mapping[str, str]) -> Iterator[Named]:
    event = headers.get("x-github-event", "registry_package")
    if event not in ("registry_package", "package") or _get(doc, "action") != "published":
        return  # "ping" and other events name no image
    package = _get(doc, event)
    url = _get(package, "package_version", "package_url")
    if isinstance(url, str) and url:
        yield url
    elif isinstance(_get(package, "namespace"), str) and isinstance(_get(package, "name"), str):
        yield f"ghcr.io/{package['namespace'].lower()}/{package['name'].lower()}"


def _generic(doc: Any, headers: Mapping[str, str]) -> Iterator[Named]:
    image = _get(doc, "image")
    if not isinstance(image, str):
        raise PayloadError('expected {"image": "registry/repository", "tag": "..."}')
    yield image, _get(doc, "tag")


PARSERS: dict[str, Callable[[Any, Mapping[str, str]], Iterator[Named]]] = {
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
    tags: set[tuple[str, str]] = set()
    for named in parser(doc, headers):
        text, tag = named if isinstance(named, tuple) else (named, None)
        try:
            ref = parse_reference(text)
        except ReferenceError_:
            refused.append(text[:200])
            continue
        images.add(ref.canonical_name)
        tag = tag if isinstance(tag, str) else ref.tag
        if tag is not None and is_tag(tag):
            tags.add((ref.canonical_name, tag))
    return Delivery(kind, frozenset(images), tuple(refused), frozenset(tags))


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
