"""Every image scalar of the real-world corpus, bumped with awkward tags, edits byte-exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from automator.errors import ManifestError
from automator.manifests import edit_file, find_image_scalars
from automator.model import Change, Part, Site
from automator.reference import ImageRef

REPO = Path(__file__).resolve().parents[3]
# the repo is cloned next to shared/; a worktree sits one level deeper
CANDIDATES = (
    REPO / ".." / "shared" / "corpus" / "yaml",
    REPO / ".." / ".." / "shared" / "corpus" / "yaml",
)
CORPUS = next((path.resolve() for path in CANDIDATES if path.is_dir()), None)
AWKWARD = ("1.10", "yes", "0755", "null", "1e3", "v9.9.9-rc.1")
NEW_NAME = "registry.example.com/team/app"
NEW_DIGEST = "sha256:" + "ab" * 32
YAML11 = VersionedResolver(version=(1, 1))


def corpus_files() -> list[Path]:
    if CORPUS is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the YAML corpus (shared/corpus/yaml next to the repo) is missing")
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml"))


def new_value(site: Site, tag: str) -> str:
    if site.part is Part.TAG:
        return tag
    if site.part is Part.NAME:
        return NEW_NAME
    if site.part is Part.DIGEST:
        return NEW_DIGEST
    digest = f"@{site.image.digest}" if site.image.digest else ""
    return f"{site.image.name}:{tag}{digest}"


def written_as(new: str, pos: int, value: str) -> str:
    """Which rendering of ``value`` the edited text holds at ``pos``."""
    for text in (f'"{value}"', f"'{value}'", value):
        if new.startswith(text, pos):
            return text
    raise AssertionError(f"{value!r} not written at offset {pos}: {new[pos : pos + 40]!r}")


@pytest.mark.skipif(not corpus_files(), reason="shared/corpus/yaml not found next to the repo")
@pytest.mark.parametrize("tag", AWKWARD)
def test_every_corpus_site_bumps_byte_exactly(tag: str) -> None:
    edited_files = 0
    for file in corpus_files():
        data = file.read_bytes()
        path = file.relative_to(CORPUS).as_posix()  # type: ignore[arg-type]
        try:
            sites = find_image_scalars(path, data)
        except ManifestError:
            continue  # Helm templates: reported, never edited
        if not sites:
            continue
        changes = [
            Change(site, site.value, new_value(site, tag), ImageRef("", "x"), "corpus")
            for site in sites
        ]
        out = edit_file(path, data, changes)
        edited_files += 1
        bom = data.startswith(b"\xef\xbb\xbf")
        assert out.startswith(b"\xef\xbb\xbf") == bom, path
        assert out.count(b"\r\n") == data.count(b"\r\n"), path
        assert out.count(b"\n") == data.count(b"\n"), path
        old_text = data.decode("utf-8").removeprefix("\ufeff")
        new_text = out.decode("utf-8").removeprefix("\ufeff")
        # the new text is the old one with exactly the scalars' spans replaced
        pos, prev = 0, 0
        for change in changes:
            segment = old_text[prev : change.site.start]
            assert new_text.startswith(segment, pos), f"{path}: bytes outside a site changed"
            pos += len(segment)
            written = written_as(new_text, pos, change.new)
            if written == change.new:  # kept plain: must be a string in YAML 1.1 too
                tag_11 = YAML11.resolve(ScalarNode, change.new, (True, False))
                assert tag_11 == "tag:yaml.org,2002:str", (path, change.new)
            pos += len(written)
            prev = change.site.end
        assert new_text[pos:] == old_text[prev:], f"{path}: bytes after the last site changed"
        # a fresh scan reads the intended values at the same places
        again = find_image_scalars(path, out)
        assert [site.value for site in again] == [change.new for change in changes], path
    assert edited_files >= 80
