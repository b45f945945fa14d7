"""Commit messages from the documented template."""

from __future__ import annotations

import pytest

from automator.errors import ConfigError
from automator.git import check_template, render_message
from automator.model import Change, Part, Site
from automator.reference import ImageRef


def change(path: str, old: str, new: str, file: str, workload: str = "") -> Change:
    domain, _, rest = path.partition("/")
    site = Site(file, 3, 0, 1, Part.REFERENCE, f"{path}:{old}", ImageRef(domain, rest, old),
                "semver:~1", "annotation", workload)  # fmt: skip
    return Change(site, old, new, ImageRef(domain, rest, new), "newest in range")


API = change("ghcr.io/acme/api", "1.4.2", "1.4.3", "clusters/prod/api.yaml", "Deployment/api")
WEB = change("ghcr.io/acme/web", "2.0.0", "2.1.0", "clusters/prod/web.yaml")
API_STAGING = change("ghcr.io/acme/api", "1.4.1", "1.4.3", "clusters/staging/api.yaml")


def test_one_change_reads_well_in_git_log() -> None:
    assert render_message([API]) == (
        "Update ghcr.io/acme/api to 1.4.3\n\n"
        "- ghcr.io/acme/api 1.4.2 -> 1.4.3 in clusters/prod/api.yaml (Deployment/api)\n"
    )


@pytest.mark.parametrize(
    ("changes", "subject"),
    [
        ([API, API_STAGING], "Update ghcr.io/acme/api to 1.4.3"),
        ([API, WEB], "Update 2 images"),
        ([API, WEB, API_STAGING], "Update 2 images"),
    ],
)
def test_subject(changes: list[Change], subject: str) -> None:
    message = render_message(changes)
    assert message.splitlines()[0] == subject
    assert message.count("\n- ") == len(changes)


def test_skip_ci_goes_on_the_subject_line() -> None:
    lines = render_message([API, WEB], skip_ci=True).splitlines()
    assert lines[0] == "Update 2 images [skip ci]"


def test_custom_template_fields() -> None:
    template = "chore(images): $count updates in $files\n\nImages: $images\n$changes"
    message = render_message([API, WEB], template)
    assert message.startswith("chore(images): 2 updates in clusters/prod/api.yaml, clusters")
    assert "Images: ghcr.io/acme/api, ghcr.io/acme/web\n" in message
    assert message.endswith("clusters/prod/web.yaml\n")


@pytest.mark.parametrize("template", ["$subjct", "costs $5"])
def test_bad_template_is_a_config_error_that_lists_the_fields(template: str) -> None:
    with pytest.raises(ConfigError, match=r"\$subject, \$changes"):
        check_template(template)


def test_trailers_mark_automators_commits_and_held_sites_are_named() -> None:
    from automator.git.message import is_automator_commit, with_trailers

    message = with_trailers(render_message([API, WEB]), [API, WEB], ["api in a.yaml: held"])
    assert message.endswith(
        "\n\nHeld:\n- api in a.yaml: held\n\n"
        "Automator-Update: clusters/prod/api.yaml ghcr.io/acme/api:1.4.3\n"
        "Automator-Update: clusters/prod/web.yaml ghcr.io/acme/web:2.1.0\n"
    )
    assert is_automator_commit(message) and not is_automator_commit(render_message([API]))
