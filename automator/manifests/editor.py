"""The byte-exact editor: splice new values into the original text, then prove it.

Each new value is written in its scalar's own style (plain, single or double
quoted; a plain value gains double quotes only when YAML 1.1 or 1.2 would read it
as something other than the string). Everything outside the edited spans is the
original text, BOM and line endings included. The result is parsed again and
compared node by node with the original: the edited scalars must read as exactly
the new values, every other scalar as before, or the edit is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from automator.errors import EditError, ManifestError, ReferenceError_
from automator.manifests.argo.override import add_entries
from automator.manifests.document import BOM, STR_TAG, compose, decode, value_start
from automator.manifests.locate import editable_problem
from automator.manifests.quoting import render
from automator.manifests.walk import Scalar, scalars
from automator.model import Change, Part
from automator.reference import DIGEST_RE, NAME_RE, check_tag, parse_reference


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int
    end: int
    text: str  # the YAML text written in place of the scalar
    value: str  # what that text must read as
    line: int


def edit_file(path: str, data: bytes, changes: Sequence[Change]) -> bytes:
    """``data`` with every change applied, or EditError naming file:line and why."""
    if not changes:
        return data
    entries = [change for change in changes if change.site.create is not None]
    if entries:
        edited = edit_file(path, data, [c for c in changes if c.site.create is None])
        return add_entries(path, edited, entries)
    try:
        decoded = decode(path, data)
        documents = compose(path, decoded.text)
        walked = [s for document in documents for s in scalars(path, decoded.text, document)]
    except ManifestError as exc:
        raise EditError(str(exc)) from exc
    by_start: dict[int, Scalar] = {}
    for scalar in walked:
        by_start.setdefault(scalar.start, scalar)
    edits: dict[int, _Edit] = {}
    for change in changes:
        edit = _plan_edit(path, change, by_start)
        previous = edits.setdefault(edit.start, edit)
        if previous.value != edit.value:
            raise EditError(
                f"{path}:{edit.line}: two changes disagree ({previous.value!r}, {edit.value!r})"
            )
    text = decoded.text
    for edit in sorted(edits.values(), key=lambda edit: edit.start, reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    _verify(path, decoded.text, documents, text, edits)
    return ((BOM if decoded.bom else "") + text).encode("utf-8")


def _plan_edit(path: str, change: Change, by_start: dict[int, Scalar]) -> _Edit:
    site = change.site
    where = f"{path}:{site.line}"
    if site.file != path:
        raise EditError(f"{where}: the change is for {site.file}, not this file")
    scalar = by_start.get(site.start)
    if scalar is None or scalar.end != site.end:
        raise EditError(
            f"{where}: no scalar at the site's position; the file changed since the scan"
        )
    if scalar.value != change.old:
        raise EditError(f"{where}: holds {scalar.value!r}, not {change.old!r}; re-scan the file")
    problem = editable_problem(scalar)
    if problem:
        raise EditError(f"{where}: {problem}")
    try:
        if not change.new.startswith(site.prefix):
            raise ReferenceError_(f"{change.new[:60]!r} lost its {site.prefix!r} prefix")
        _check_value(site.part, change.new.removeprefix(site.prefix))
    except ReferenceError_ as exc:
        raise EditError(f"{where}: {exc}") from exc
    try:
        rendered = render(change.new, scalar.node.style or "", scalar.flow)
    except EditError as exc:
        raise EditError(f"{where}: {exc}") from exc
    return _Edit(scalar.start, scalar.end, rendered, change.new, site.line)


def _check_value(part: Part, value: str) -> None:
    """Refuse a value that is not a valid ``part`` of an image reference."""
    if part is Part.REFERENCE:
        parse_reference(value)
    elif part is Part.TAG:
        tag, _, digest = value.partition("@")
        check_tag(tag)
        if digest and DIGEST_RE.fullmatch(digest) is None:
            raise ReferenceError_(f"{digest[:60]!r} is not a valid digest")
    elif part is Part.NAME and NAME_RE.fullmatch(value) is None:
        raise ReferenceError_(f"{value[:60]!r} is not a valid image name")
    elif part is Part.DIGEST and DIGEST_RE.fullmatch(value) is None:
        raise ReferenceError_(f"{value[:60]!r} is not a valid digest")


def _verify(
    path: str, old_text: str, old_docs: list[Node], new_text: str, edits: dict[int, _Edit]
) -> None:
    """Parse ``new_text`` and prove that only the edited scalars changed, as intended."""
    try:
        new_docs = compose(path, new_text)
    except ManifestError as exc:
        raise EditError(f"{exc}; the edit was not written") from exc
    if len(new_docs) != len(old_docs):
        raise EditError(f"{path}: the edit changed the number of documents; not written")
    stack: list[tuple[Node, Node]] = list(zip(old_docs, new_docs, strict=True))
    seen: set[int] = set()
    while stack:
        old, new = stack.pop()
        if id(old) in seen:
            continue
        seen.add(id(old))
        line = old.start_mark.line + 1
        if type(old) is not type(new) or (not isinstance(old, ScalarNode) and old.tag != new.tag):
            raise EditError(f"{path}:{line}: the edit changed the structure here; not written")
        if isinstance(old, ScalarNode) and isinstance(new, ScalarNode):
            _verify_scalar(path, old_text, old, new, edits)
        elif isinstance(old, MappingNode):
            if len(old.value) != len(new.value):
                raise EditError(f"{path}:{line}: the edit changed a mapping here; not written")
            for (old_key, old_value), (new_key, new_value) in zip(
                old.value, new.value, strict=True
            ):
                stack.extend(((old_key, new_key), (old_value, new_value)))
        elif isinstance(old, SequenceNode):
            if len(old.value) != len(new.value):
                raise EditError(f"{path}:{line}: the edit changed a sequence here; not written")
            stack.extend(zip(old.value, new.value, strict=True))


def _verify_scalar(
    path: str, old_text: str, old: ScalarNode, new: ScalarNode, edits: dict[int, _Edit]
) -> None:
    line = old.start_mark.line + 1
    edit = edits.get(value_start(old_text, old))
    if edit is None:
        if (old.value, old.tag) != (new.value, new.tag):
            raise EditError(f"{path}:{line}: the edit changed another value here; not written")
    elif new.value != edit.value or new.tag != STR_TAG:
        raise EditError(
            f"{path}:{line}: {edit.text} would read back as {new.value!r} ({new.tag}),"
            f" not the string {edit.value!r}; not written"
        )
