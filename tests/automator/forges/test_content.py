"""Pull request titles and bodies: readable, complete, and safe from hostile input."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from automator.forges import group_of, marker, render_pr
from tests.automator.forges.changes import change

SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"


def table_rows(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith("| ")]


def cells(row: str) -> list[str]:
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_one_image_title_and_table() -> None:
    title, body = render_pr(
        [change(), change("clusters/staging/api.yaml")], group="image/ghcr.io/acme/api"
    )
    assert title == "Update ghcr.io/acme/api to 1.4.3"
    assert body.startswith("<!-- automator:group=image/ghcr.io/acme/api -->\n")
    header, _, row = table_rows(body)
    assert header == "| Image | Update | Policy | Workloads | Files |"
    assert row == (
        "| `ghcr.io/acme/api` | `1.4.2` -> `1.4.3` | `semver:~1.4` | `Deployment/api (api)`"
        " | `clusters/prod/api.yaml`, `clusters/staging/api.yaml` |"
    )
    assert "`highest of 12 tags in ~1.4`" in body
    assert "1 image in 2 files" in body


def test_many_images_title() -> None:
    changes = [
        change(),
        change(old="nginx:1.25.0", new="nginx:1.25.3", policy="semver:~1.25"),
        change(old="quay.io/x/y:2.0.0", new="quay.io/x/y:2.1.0@sha256:" + "a" * 64),
    ]
    title, body = render_pr(changes, group="all")
    assert title == "Update 3 images"
    assert len(table_rows(body)) == 5
    assert "`2.1.0@sha256:aaaaaaaaaaaa`" in body


def test_links_from_oci_labels() -> None:
    labels = {
        "ghcr.io/acme/api:1.4.3": {
            SOURCE: "https://github.com/acme/api.git",
            REVISION: "0123456789abcdef0123456789abcdef01234567",
            "org.opencontainers.image.url": "https://acme.dev/api",
        }
    }
    _, body = render_pr([change()], group="all", labels_from_oci=labels)
    assert "[source](https://github.com/acme/api)" in body
    assert (
        "[commit 0123456](https://github.com/acme/api/commit/"
        "0123456789abcdef0123456789abcdef01234567)" in body
    )
    assert "[release notes](https://github.com/acme/api/releases/tag/1.4.3)" in body
    assert "[homepage](https://acme.dev/api)" in body


def test_hostile_labels_give_no_links() -> None:
    labels = {
        "ghcr.io/acme/api": {
            SOURCE: "https://evil.example/x)[click](https://evil.example",
            REVISION: "not-a-sha](https://evil.example)",
            "org.opencontainers.image.url": "javascript:alert(1)",
        }
    }
    _, body = render_pr([change()], group="all", labels_from_oci=labels)
    assert "evil" not in body and "javascript" not in body
    assert "Source and release notes" not in body


def test_hostile_text_cannot_break_the_table_or_inject_markup() -> None:
    hostile = "a | b\n| x | y |\n<img src=x onerror=alert(1)> [link](https://evil.example) `code`"
    _, body = render_pr(
        [change(reason=hostile, policy=hostile, workload=hostile, container="c|d")], group="all"
    )
    rows = table_rows(body)
    assert len(rows) == 3
    assert all(len(cells(row)) == 5 for row in rows)
    # outside code spans nothing of the hostile text remains
    outside = re.sub(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)", "", body)
    assert "<img" not in outside and "](https://evil" not in outside


@given(st.text(max_size=80))
def test_any_text_stays_in_its_cell(text: str) -> None:
    _, body = render_pr([change(reason=text, policy=text, workload=text)], group=text or "g")
    rows = table_rows(body)
    assert len(rows) == 3 and all(len(cells(row)) == 5 for row in rows)
    assert group_of(body) == (text or "g")


@given(st.text(min_size=1, max_size=60))
def test_marker_round_trips_and_stays_a_comment(group: str) -> None:
    line = marker(group)
    assert line.count("-->") == 1 and line.endswith(" -->") and "\n" not in line
    assert group_of(f"text\n{line}\nmore") == group


def test_body_without_marker_is_not_ours() -> None:
    assert group_of("a pull request someone else wrote") is None


def test_a_huge_group_stays_under_the_forges_body_limit() -> None:
    from automator.forges.content import BODY_MAX, FOOTER

    long = "w" * 600
    many = [
        change(
            file=f"clusters/{n}/{long}.yaml",
            old=f"ghcr.io/acme/app{n}:1.0.0",
            new=f"ghcr.io/acme/app{n}:1.0.1",
            workload=f"Deployment/{long}{n}",
        )
        for n in range(100)
    ]
    _, body = render_pr(many, group="all")
    assert len(body) <= BODY_MAX
    assert group_of(body) == "all", "the marker survives the cut"
    assert "The description was cut at 60000 characters" in body
    assert body.endswith(f"---\n{FOOTER}\n")
