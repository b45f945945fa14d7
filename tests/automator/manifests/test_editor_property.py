"""Random documents, random edits: nothing outside the edited scalars parses differently."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import given, note, settings
from hypothesis import strategies as st
from ruamel.yaml.cyaml import CSafeLoader

from automator.manifests import edit_file, find_image_scalars
from automator.model import Change, Part


@dataclass
class Image:
    """An ``image:`` value in the generated tree, and how it is written."""

    ref: str
    style: str  # '', "'", '"'


KEYS = st.sampled_from(["a", "b", "image", "name", "k1", "spec", "x-y", "Z"])
WORDS = st.sampled_from(
    ["v1", "hello", "1.10", "yes", "null", "0755", "1e3", "it's", "a: b", "# x"]
)
SCALARS = st.one_of(st.integers(-5, 10**6), st.booleans(), st.none(), WORDS)
REFS = st.builds(
    lambda name, tag: f"{name}:{tag}",
    st.sampled_from(["nginx", "ghcr.io/acme/api", "localhost:5000/a/b", "docker.io/library/redis"]),
    st.sampled_from(["1.0", "v2.3.4", "latest", "1.9", "2024-01-01"]),
)
IMAGES = st.builds(Image, REFS, st.sampled_from(["", "'", '"']))
TREES = st.recursive(
    st.one_of(SCALARS, IMAGES),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(KEYS, children, min_size=1, max_size=4),
    ),
    max_leaves=25,
)
NEW_TAGS = st.sampled_from(["1.10", "yes", "0755", "null", "1e3", "v9.9.9-rc.1", "on", "8.6.2"])


def scalar_text(value: Any) -> str:
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value.isalnum() and value[0].isalpha() and value not in ("yes", "null"):
        return value
    return json.dumps(value)


def image_text(image: Image) -> str:
    if image.style == "'":
        return f"'{image.ref}'"
    if image.style == '"':
        return f'"{image.ref}"'
    return image.ref


def render(tree: Any, indent: int, draw: Any) -> list[str]:
    """Block-style lines for ``tree`` (collections) with comments and mixed sequence indents."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(tree, dict):
        items = list(tree.items())
        lone_image = items[0][0] == "image" and len(items) == 1 and isinstance(items[0][1], Image)
        if lone_image and draw(st.booleans()):  # a flow mapping holding an image
            return [f"{pad}{{image: {json.dumps(items[0][1].ref)}}}"]
        for key, value in items:
            lines.extend(entry(f"{pad}{key}:", value, indent, draw))
        return lines
    offset = draw(st.sampled_from([0, 2]))  # indented and unindented sequences in one file
    for value in tree:
        lines.extend(entry(f"{' ' * (indent + offset)}-", value, indent + offset, draw))
    return lines


def entry(head: str, value: Any, indent: int, draw: Any) -> list[str]:
    comment = draw(st.sampled_from(["", "  # note", "\t# tab"]))
    if head.endswith("-") and comment.startswith("\t"):
        comment = "  # libyaml reads a tab after a bare '-' as content"
    if isinstance(value, Image):
        return [f"{head} {image_text(value)}{comment}"]
    if isinstance(value, (dict, list)):
        if draw(st.booleans()):
            return [f"{head}{comment}", "# between", *render(value, indent + 2, draw)]
        return [f"{head}{comment}", *render(value, indent + 2, draw)]
    return [f"{head} {scalar_text(value)}{comment}"]


def plain(tree: Any, new: dict[int, str]) -> Any:
    """The data a loader should read: images replaced by ``new`` (by id) where edited."""
    if isinstance(tree, Image):
        return new.get(id(tree), tree.ref)
    if isinstance(tree, dict):
        return {key: plain(value, new) for key, value in tree.items()}
    if isinstance(tree, list):
        return [plain(value, new) for value in tree]
    return tree


def images_in(tree: Any) -> list[Image]:
    """Images under an ``image`` key (elsewhere they are plain strings), in text order."""
    if isinstance(tree, dict):
        found: list[Image] = []
        for key, value in tree.items():
            found.extend(
                [value] if key == "image" and isinstance(value, Image) else images_in(value)
            )
        return found
    if isinstance(tree, list):
        return [image for value in tree for image in images_in(value)]
    return []


def load(data: bytes) -> Any:
    loader: Any = CSafeLoader(data.decode("utf-8").removeprefix("\ufeff"))
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@settings(max_examples=150, deadline=None)
@given(
    st.data(), st.dictionaries(KEYS, TREES, min_size=1, max_size=5), st.booleans(), st.booleans()
)
def test_random_edits_change_only_the_edited_scalars(
    data: st.DataObject, tree: dict[str, Any], crlf: bool, bom: bool
) -> None:
    tree = {**tree, "image": Image("ghcr.io/acme/app:1.0", data.draw(st.sampled_from(["", "'"])))}
    lines = ["# generated", *render(tree, 0, data.draw)]
    text = ("\r\n" if crlf else "\n").join(lines) + data.draw(st.sampled_from(["", "\n"]))
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    note(text)
    assert load(raw) == plain(tree, {})
    # images sit under the key "image" only, so the scan finds them in text order
    sites = [s for s in find_image_scalars("r.yaml", raw) if ":" in s.value]
    images = images_in(tree)
    assert [s.value for s in sites] == [image.ref for image in images]
    assert all(site.part is Part.REFERENCE for site in sites)
    chosen = data.draw(st.lists(st.sampled_from(sites), unique_by=lambda s: s.start, min_size=1))
    changes = []
    for site in chosen:
        tag = data.draw(NEW_TAGS)
        changes.append(Change(site, site.value, f"{site.image.name}:{tag}", site.image, "p"))
    out = edit_file("r.yaml", raw, changes)
    assert out.startswith(b"\xef\xbb\xbf") == bom
    assert out.count(b"\r\n") == raw.count(b"\r\n") and out.count(b"\n") == raw.count(b"\n")
    by_start = {change.site.start: change.new for change in changes}
    edited = {
        id(image): by_start[site.start]
        for image, site in zip(images, sites, strict=True)
        if site.start in by_start
    }
    assert load(out) == plain(tree, edited)
