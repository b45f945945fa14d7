"""Golden byte-exact edits: input bytes, changes, expected output bytes."""

from __future__ import annotations

import dataclasses

import pytest

from automator.errors import EditError
from automator.manifests import edit_file, find_image_scalars
from automator.model import Change, Part, Site
from automator.reference import ImageRef, parse_reference


def bump(data: bytes, new: dict[str, str], path: str = "f.yaml") -> bytes:
    """Edit every image scalar whose current value is a key of ``new``."""
    sites = [site for site in find_image_scalars(path, data) if site.value in new]
    assert sites, "no site matched"
    changes = [Change(s, s.value, new[s.value], ImageRef("", "x"), "test") for s in sites]
    return edit_file(path, data, changes)


def forged(data: bytes, needle: str, old: str | None = None) -> Change:
    """A change at the first occurrence of ``needle`` (bypassing the scanner's refusals)."""
    text = data.decode().removeprefix("\ufeff")
    start = text.index(needle)
    line = text.count("\n", 0, start) + 1
    value = needle.strip("'\"") if old is None else old
    site = Site("f.yaml", line, start, start + len(needle), Part.REFERENCE, value,
                parse_reference("a/b:1"), "glob:*", "test")  # fmt: skip
    return Change(site, site.value, "a/b:2", site.image, "test")


def test_comments_quote_styles_and_flow_style() -> None:
    data = (
        b"# head comment\n"
        b"apiVersion: v1  # trailing\n"
        b"kind: Pod\n"
        b"spec:\n"
        b"  containers:\n"
        b"  - name: a   # c\n"
        b"    image: nginx:1.0 # plain\n"
        b"  - {name: b, image: 'redis:1.0'}   # flow, single quotes\n"
        b"  - name: c\n"
        b'    image: "busybox:1.0"  # double\n'
        b"  # between items\n"
        b"  - [x, {image: ['ghcr.io/a/b:1.0'], note: y}]  # a list is no site\n"
        b"  - {image: ghcr.io/a/b }  # libyaml refuses ':' in flow plain scalars\n"
        b"# end\n"
    )
    expected = (
        b"# head comment\n"
        b"apiVersion: v1  # trailing\n"
        b"kind: Pod\n"
        b"spec:\n"
        b"  containers:\n"
        b"  - name: a   # c\n"
        b"    image: nginx:1.10 # plain\n"
        b"  - {name: b, image: 'redis:it''s'}   # flow, single quotes\n"
        b"  - name: c\n"
        b'    image: "busybox:yes"  # double\n'
        b"  # between items\n"
        b"  - [x, {image: ['ghcr.io/a/b:1.0'], note: y}]  # a list is no site\n"
        b"  - {image: \"ghcr.io/a/b:2.0\" }  # libyaml refuses ':' in flow plain scalars\n"
        b"# end\n"
    )
    new = {
        "nginx:1.0": "nginx:1.10",
        "redis:1.0": "redis:it's",
        "busybox:1.0": "busybox:yes",
        "ghcr.io/a/b": "ghcr.io/a/b:2.0",
    }
    sites = [s for s in find_image_scalars("f.yaml", data) if s.value in new]
    sites = [s for s in sites if s.value != "redis:1.0"]  # "it's" is no valid tag: write it raw
    changes = [Change(s, s.value, new[s.value], ImageRef("", "x"), "t") for s in sites]
    out = edit_file("f.yaml", data, changes)
    assert out == expected.replace(b"'redis:it''s'", b"'redis:1.0'")


@pytest.mark.parametrize(
    ("before", "value", "after"),
    [
        (b"tag: 1.9\n", "1.10", b'tag: "1.10"\n'),
        (b"tag: v1\n", "yes", b'tag: "yes"\n'),
        (b"tag: v1\n", "on", b'tag: "on"\n'),
        (b"tag: v1\n", "0755", b'tag: "0755"\n'),
        (b"tag: v1\n", "null", b'tag: "null"\n'),
        (b"tag: v1\n", "1e3", b'tag: "1e3"\n'),
        (b"tag: v1\n", "1_000", b'tag: "1_000"\n'),
        (b"tag: v1\n", "v9.9.9-rc.1", b"tag: v9.9.9-rc.1\n"),
        (b"tag: v1\n", "8.6.2", b"tag: 8.6.2\n"),
        (b"tag: '1.9'\n", "1.10", b"tag: '1.10'\n"),
        (b'tag: "1.9"\n', "1.10", b'tag: "1.10"\n'),
        (b"tag: v1   # keep   spacing\n", "v2", b"tag: v2   # keep   spacing\n"),
        (b"tag: !!str 1.9\n", "1.10", b'tag: !!str "1.10"\n'),
        (b'tag: ""\n', "1.0", b'tag: "1.0"\n'),
    ],
)
def test_helm_tag_quoting(before: bytes, value: str, after: bytes) -> None:
    data = b"image:\n  repository: ghcr.io/acme/api\n  " + before
    old = find_image_scalars("f.yaml", data)
    tag_site = next(s for s in old if s.part is Part.TAG)
    out = edit_file("f.yaml", data, [Change(tag_site, tag_site.value, value, tag_site.image, "t")])
    assert out == b"image:\n  repository: ghcr.io/acme/api\n  " + after


def test_documents_crlf_bom_no_final_newline_mixed_sequences() -> None:
    data = (
        b"\xef\xbb\xbf%YAML 1.2\r\n---\r\n"
        b"a:\r\n  - image: x/y:1\r\n"
        b"b:\r\n- image: x/z:1\r\n"
        b"...\r\n---\r\n"
        b"c: caf\xc3\xa9 \xf0\x9f\x9a\x80\r\n"
        b"image: q/r:1\t# tab before the comment\r\n"
        b"...\r\n---\r\n# comment-only document\r\n---\r\n"
        b"image: 'q/s:1'"
    )
    expected = (
        b"\xef\xbb\xbf%YAML 1.2\r\n---\r\n"
        b"a:\r\n  - image: x/y:2\r\n"
        b"b:\r\n- image: x/z:2\r\n"
        b"...\r\n---\r\n"
        b"c: caf\xc3\xa9 \xf0\x9f\x9a\x80\r\n"
        b"image: q/r:2\t# tab before the comment\r\n"
        b"...\r\n---\r\n# comment-only document\r\n---\r\n"
        b"image: 'q/s:2'"
    )
    new = {"x/y:1": "x/y:2", "x/z:1": "x/z:2", "q/r:1": "q/r:2", "q/s:1": "q/s:2"}
    assert bump(data, new) == expected


def test_anchored_site_is_edited_after_its_anchor() -> None:
    data = b"image: &own ghcr.io/a/c:1.0  # anchored, never aliased\n"
    assert bump(data, {"ghcr.io/a/c:1.0": "ghcr.io/a/c:1.10"}) == (
        b"image: &own ghcr.io/a/c:1.10  # anchored, never aliased\n"
    )


def test_alias_reached_sites_are_not_offered_and_cannot_be_forced() -> None:
    data = (
        b"base: &img ghcr.io/a/b:1.0\n"
        b"spec:\n  containers:\n  - name: a\n    image: *img\n"
        b"  - name: b\n    image: ghcr.io/a/c:1.0\n"
    )
    assert [s.value for s in find_image_scalars("f.yaml", data)] == ["ghcr.io/a/c:1.0"]
    with pytest.raises(EditError, match=r"f\.yaml:1: reached through an alias"):
        edit_file("f.yaml", data, [forged(data, "ghcr.io/a/b:1.0")])


def test_block_and_multiline_scalars_are_refused() -> None:
    data = b"image: |\n  a/b:1\nother: 'a/b:1\n  x'\n"
    with pytest.raises(EditError, match=r"f\.yaml:1: a block scalar"):
        edit_file("f.yaml", data, [forged(data, "|\n  a/b:1\n", "a/b:1\n")])
    with pytest.raises(EditError, match=r"f\.yaml:3: a multi-line scalar"):
        edit_file("f.yaml", data, [forged(data, "'a/b:1\n  x'", "a/b:1 x")])


def test_stale_site_and_bad_values_are_refused() -> None:
    data = b"image: a/b:1\n"
    change = forged(data, "a/b:1")
    with pytest.raises(EditError, match="holds 'a/b:1', not 'a/b:0'"):
        edit_file("f.yaml", data, [dataclasses.replace(change, old="a/b:0")])
    with pytest.raises(EditError, match="not an image reference"):
        edit_file("f.yaml", data, [dataclasses.replace(change, new="a/b:1\nx: y")])
    moved = dataclasses.replace(change.site, start=1)
    with pytest.raises(EditError, match="no scalar at the site's position"):
        edit_file("f.yaml", data, [dataclasses.replace(change, site=moved)])
    other = dataclasses.replace(change.site, file="g.yaml")
    with pytest.raises(EditError, match=r"for g\.yaml"):
        edit_file("f.yaml", data, [dataclasses.replace(change, site=other)])


def test_two_sites_in_one_pass_and_no_changes_returns_input() -> None:
    data = b"images:\n- name: app\n  newName: ghcr.io/a/app\n  newTag: v1\n  digest: sha256:" + (
        b"0" * 64 + b"\n"
    )
    sites = find_image_scalars("f.yaml", data)
    assert [s.part for s in sites] == [Part.NAME, Part.TAG, Part.DIGEST]
    changes = [
        Change(sites[1], "v1", "v2", sites[1].image, "t"),
        Change(sites[2], sites[2].value, "sha256:" + "1" * 64, sites[2].image, "t"),
    ]
    out = edit_file("f.yaml", data, changes)
    assert out == data.replace(b"v1", b"v2").replace(b"0" * 64, b"1" * 64)
    assert edit_file("f.yaml", data, []) is data
