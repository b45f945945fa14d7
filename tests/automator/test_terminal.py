"""terminal: what `automator plan` shows people, and the progress bar's registry wrapper."""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

from automator.engine import Outcome
from automator.errors import RegistryError
from automator.model import Change, Part, Plan, Site, Skip
from automator.reference import ImageRef, parse_reference
from automator.registry import ImageInfo
from automator.terminal import (
    PROGRESS_BATCH,
    ProgressRegistry,
    change_table,
    coloured_diff,
    outcome_json,
)


def change(name: str, old: str, new: str, file: str, line: int) -> Change:
    image = parse_reference(f"{name}:{old}")
    site = Site(file, line, 0, 1, Part.REFERENCE, str(image), image, "semver:^1", "annotation")
    return Change(site, str(image), f"{name}:{new}", image.with_tag(new), "newest in ^1")


def test_the_change_table_is_aligned_and_empty_without_changes() -> None:
    plan = Plan(
        changes=(
            change("reg.test/acme/api", "1.4.2", "1.4.3", "apps/api.yaml", 7),
            change("reg.test/acme/frontend-web", "2.0", "2.1", "apps/web.yaml", 12),
        )
    )
    table = change_table([Outcome("fleet", plan)])
    assert table.splitlines() == [
        "IMAGE                       CHANGE          FILE",
        "reg.test/acme/api           1.4.2 -> 1.4.3  apps/api.yaml:7",
        "reg.test/acme/frontend-web  2.0 -> 2.1      apps/web.yaml:12",
    ]
    assert change_table([Outcome("fleet", Plan())]) == ""


def test_the_diff_is_coloured_by_line_kind_and_plain_when_stripped() -> None:
    diff = "--- a/f.yaml\n+++ b/f.yaml\n@@ -1 +1 @@\n-image: a:1\n+image: a:2\n context\n"
    coloured = coloured_diff(diff)
    assert click.style("-image: a:1\n", fg="red") in coloured
    assert click.style("+image: a:2\n", fg="green") in coloured
    assert click.style("@@ -1 +1 @@\n", fg="cyan") in coloured
    assert click.style("--- a/f.yaml\n", bold=True) in coloured
    assert click.unstyle(coloured) == diff


def test_outcome_json_names_every_change_and_skip() -> None:
    plan = Plan(
        changes=(change("reg.test/acme/api", "1.4.2", "1.4.3", "apps/api.yaml", 7),),
        skipped=(Skip("apps/bad.yaml:3", "policy 'semver:': empty range", True),),
        sites=2,
    )
    document = outcome_json(Outcome("fleet", plan, commit="abc123"))
    assert json.loads(json.dumps(document)) == {
        "source": "fleet",
        "commit": "abc123",
        "sites": 2,
        "changes": [
            {
                "image": "reg.test/acme/api",
                "old": "reg.test/acme/api:1.4.2",
                "new": "reg.test/acme/api:1.4.3",
                "file": "apps/api.yaml",
                "line": 7,
                "policy": "semver:^1",
                "reason": "newest in ^1",
            }
        ],
        "skipped": [
            {"where": "apps/bad.yaml:3", "reason": "policy 'semver:': empty range", "error": True}
        ],
    }


class Recording:
    """A registry that records how it was asked."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.asked: list[str] = []

    def list_tags_many(self, images: Iterable[ImageRef]) -> dict[str, list[str] | RegistryError]:
        batch = list(images)
        self.batches.append(len(batch))
        return {i.canonical_name: ["1.0"] for i in batch}

    def digest(self, image: ImageRef, tag: str | None = None) -> str:
        self.asked.append(f"digest {image.canonical_name}:{tag}")
        return "sha256:" + "ee" * 32

    def image_info(
        self, image: ImageRef, tag: str | None = None, platform: str | None = None
    ) -> ImageInfo:
        self.asked.append(f"info {image.canonical_name}:{tag} {platform}")
        return ImageInfo("sha256:" + "ee" * 32, None)


def test_progress_lists_in_batches_and_passes_everything_else_through() -> None:
    inner = Recording()
    progress = ProgressRegistry(inner)
    images = [parse_reference(f"reg.test/acme/svc{n}") for n in range(2 * PROGRESS_BATCH + 3)]

    listed = progress.list_tags_many(images)
    progress.digest(images[0], "1.0")
    progress.image_info(images[1], "1.0", "linux/arm64")

    assert inner.batches == [PROGRESS_BATCH, PROGRESS_BATCH, 3]
    assert sorted(listed) == sorted(i.canonical_name for i in images)
    assert inner.asked == [
        "digest reg.test/acme/svc0:1.0",
        "info reg.test/acme/svc1:1.0 linux/arm64",
    ]
