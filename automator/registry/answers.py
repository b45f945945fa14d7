"""Reading what a registry answered: tag pages, the next page, JSON, digests, errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin

from automator.errors import ReferenceError_, RegistryError
from automator.http import Reply
from automator.reference import check_digest, is_tag
from automator.registry.manifests import load_json
from automator.registry.settings import RegistrySettings
from automator.registry.transport import origin


def tag_page(reply: Reply, what: str, base: str) -> list[Any]:
    if reply.status != 200:
        raise status_error(reply.status, what, base)
    page = json_object(reply.body, what).get("tags")
    if page is None:  # some registries send null for none
        return []
    if not isinstance(page, list):
        raise RegistryError(f"{what}: 'tags' is not a list; check that {base} is a registry")
    return page


def next_page(
    reply: Reply,
    base: str,
    first: str,
    page: list[Any],
    grew: bool,
    linked: bool,
    settings: RegistrySettings,
) -> tuple[str | None, bool, bool]:
    """(next URL, a Link was ever seen, a Link was refused)."""
    link = reply.links.get("next", {}).get("url")
    if link:
        target = urljoin(reply.url, link)
        if origin(target) != origin(base):
            return None, True, True
        return target, True, False
    last = page[-1] if page else None
    if (
        not linked and grew and len(page) >= settings.page_size and is_tag(last)
    ):  # registries without Link
        return f"{first}&last={quote(str(last))}", False, False
    return None, linked, False


def json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        return load_json(body)
    except ValueError as exc:
        raise RegistryError(
            f"{what}: the answer is not a JSON object (truncated?); try again later",
            transient=True,
        ) from exc


def valid_digest(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return check_digest(value.strip())
    except ReferenceError_:
        return None


def expect_ok(reply: Reply, what: str, settings: RegistrySettings, source: str) -> None:
    if reply.status != 200:
        raise status_error(reply.status, what, settings.api_base, settings.key, source)


def status_error(
    status: int, what: str, base: str, host: str = "", source: str = ""
) -> RegistryError:
    host = host or origin(base)[1]
    hints = {
        401: f"check the credentials for {host} ({source or 'see registries:'})",
        403: f"check that the credentials for {host} may pull this repository",
        404: "check that the repository and tag exist and the name is spelled right",
    }
    hint = hints.get(status, f"check that {base} is a container registry")
    return RegistryError(f"{what}: HTTP {status}; {hint}", transient=status >= 500)
