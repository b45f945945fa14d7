"""A chart update's links in its pull request: source, home and release notes from the index
entry or the OCI manifest's annotations; hostile URLs are dropped, never escaped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from automator.charts.catalog import ChartCatalog
from automator.charts.index import read_index
from automator.charts.links import HOMEPAGE, NOTES, SOURCE, ChartLinks
from automator.charts.repository import IndexRead
from automator.errors import RegistryError
from automator.forges import render_pr
from automator.model import Change, ChartSource, Part, Site
from automator.reference import ImageRef, parse_reference

REPO = "https://charts.example.test/stable"
ENTRY = """\
apiVersion: v1
entries:
  web:
  - version: 1.4.0
    home: {home}
    sources:
    - git@github.com:acme/charts.git
    - {source}
    annotations:
      artifacthub.io/releaseNotes: {notes}
    urls: [web-1.4.0.tgz]
  - version: 1.0.0
    urls: [web-1.0.0.tgz]
"""
GOOD = {
    "home": "https://acme.example/web",
    "source": "https://github.com/acme/charts",
    "notes": "https://github.com/acme/charts/releases/tag/web-1.4.0",
}


class Repositories:
    """The index as HelmRepositories would return it (its own tests read nginx)."""

    def __init__(self, text: str) -> None:
        self.index = read_index(text.encode(), where=REPO)

    def read(self, repo_url: str) -> IndexRead:
        return IndexRead(self.index, 200)


def chart_change(old: str, new: str, *, chart: ChartSource | None = None) -> Change:
    image = parse_reference(old)
    site = Site(
        "apps/web.yaml", 9, 0, 5, Part.TAG, image.tag or "", image, "semver:^1", "annotation",
        "HelmRelease/apps/web", chart=chart, artifact=chart is None,
    )  # fmt: skip
    return Change(site, site.value, new.rpartition(":")[2], parse_reference(new), "highest")


def classic(fields: Mapping[str, str]) -> tuple[ChartLinks, Change]:
    catalog = ChartCatalog(Repositories(ENTRY.format(**fields)))  # type: ignore[arg-type]
    source = ChartSource(REPO, "web")
    assert catalog.candidates(source)  # the plan reads the index first
    change = chart_change(
        "charts.example.test/stable/web:1.0.0", "charts.example.test/stable/web:1.4.0", chart=source
    )
    return ChartLinks(catalog, None), change


def test_a_classic_chart_links_its_source_home_and_release_notes() -> None:
    links, change = classic(GOOD)
    labels = links.labels([change])
    assert labels == {
        "charts.example.test/stable/web:1.4.0": {
            SOURCE: GOOD["source"],  # the first http(s) one
            HOMEPAGE: GOOD["home"],
            NOTES: GOOD["notes"],
        }
    }
    _, body = render_pr([change], group="all", labels_from_oci=labels)
    assert "### Source and release notes" in body
    line = [x for x in body.splitlines() if x.startswith("- `charts.example.test")][-1]
    assert line == (
        "- `charts.example.test/stable/web` `1.4.0`: [source](https://github.com/acme/charts),"
        " [homepage](https://acme.example/web),"
        " [release notes](https://github.com/acme/charts/releases/tag/web-1.4.0)"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        {"home": "javascript:alert(1)"},
        {"source": '"https://evil.example/x)[click](https://evil.example"'},
        {"notes": '"https://evil.example/a\\nb"'},
        {"notes": "https://evil.example/<script>"},
        {"home": "https://evil.example/" + "a" * 400},  # over the length cap
        {"source": "'https://evil.example/x'' onclick=''y'"},
    ],
)
def test_a_hostile_url_is_dropped(hostile: dict[str, str]) -> None:
    links, change = classic(GOOD | hostile)
    _, body = render_pr([change], group="all", labels_from_oci=links.labels([change]))
    assert "evil" not in body and "javascript" not in body
    assert "[source]" in body or "source" in hostile  # the other links stay


def test_an_oci_chart_links_its_manifest_annotations() -> None:
    asked: list[ImageRef] = []

    def annotations(image: ImageRef) -> Mapping[str, str]:
        asked.append(image)
        return {
            SOURCE: "https://github.com/acme/charts",
            HOMEPAGE: "https://acme.example/web",
            NOTES: "https://acme.example/web/notes",
            "org.opencontainers.image.title": "web",
        }

    change = chart_change("ghcr.io/acme/charts/web:1.0.0", "ghcr.io/acme/charts/web:1.4.0")
    image = replace(change, site=replace(change.site, artifact=False))  # an image: not asked
    labels = ChartLinks(None, annotations).labels([change, change, image])
    assert [str(a) for a in asked] == ["ghcr.io/acme/charts/web:1.4.0"]
    assert labels == {
        "ghcr.io/acme/charts/web:1.4.0": {
            SOURCE: "https://github.com/acme/charts",
            HOMEPAGE: "https://acme.example/web",
            NOTES: "https://acme.example/web/notes",
        }
    }


def test_unreadable_annotations_give_no_links() -> None:
    def annotations(image: ImageRef) -> Mapping[str, str]:
        raise RegistryError(f"{image}: 404")

    change = chart_change("ghcr.io/acme/charts/web:1.0.0", "ghcr.io/acme/charts/web:1.4.0")
    assert ChartLinks(None, annotations).labels([change]) == {}


def test_without_named_notes_a_chart_gets_no_guessed_release_notes_link() -> None:
    links, change = classic(GOOD | {"notes": "none"})
    _, body = render_pr([change], group="all", labels_from_oci=links.labels([change]))
    assert f"[source]({GOOD['source']})" in body
    assert "[release notes]" not in body  # a chart's tag is no release of its source repo
