"""Fake forges on 127.0.0.1 whose traffic must match the forges' API descriptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from automator.forges import Forge, make_forge
from automator.secrets import Secret
from testing.fakeforge import FakeForge
from testing.forgespec import Exchange, OpenApiCheck, SwaggerCheck, load

TOKEN = "s3cr3t-t0ken-value"
KINDS = ["github", "gitlab", "gitea", "forgejo"]
SPECS = {
    "github": "github-pr-slice.json",
    "gitlab": "gitlab-mr-slice.json",
    "gitea": "gitea-pr-slice.json",
    "forgejo": "forgejo-pr-slice.json",
}
# GitLab's OpenAPI description has no issue operations in our slice (testing/data/README.md)
GITLAB_UNDESCRIBED = (r"/api/v4/projects/[^/]+/issues(/\d+)?",)


@pytest.fixture(scope="session")
def checks() -> dict[str, Callable[[Exchange], list[str]]]:
    github = load(SPECS["github"])
    return {
        "github": OpenApiCheck(github, "https://api.github.com", strip="/api/v3"),
        "gitlab": OpenApiCheck(
            load(SPECS["gitlab"]), "https://gitlab.example.com", undescribed=GITLAB_UNDESCRIBED
        ),
        "gitea": SwaggerCheck(load(SPECS["gitea"])),
        "forgejo": SwaggerCheck(load(SPECS["forgejo"])),
    }


@pytest.fixture(scope="session")
def github_examples() -> dict[str, object]:
    examples: dict[str, object] = load(SPECS["github"])["components"]["examples"]
    return examples


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(
    kind: str,
    checks: dict[str, Callable[[Exchange], list[str]]],
    github_examples: dict[str, object],
) -> Iterator[FakeForge]:
    """A fake forge of ``kind`` with branches main and automator/*; traffic must be valid."""
    server = FakeForge(
        kind,
        token=TOKEN,
        branches=["main", "automator/all", "automator/image/ghcr.io/acme/api"],
        check=checks[kind],
        examples=github_examples,
    )
    with server:
        yield server
    assert server.problems == [], "traffic the API description rejects"


@pytest.fixture
def connect(fake: FakeForge) -> Callable[..., Forge]:
    """Build a client for ``fake``; keywords override make_forge's arguments."""

    def build(**overrides: object) -> Forge:
        args: dict[str, object] = {
            "api_url": fake.url,
            "repository": fake.repository,
            "token": Secret(TOKEN),
            "max_wait_s": 10,
        }
        args.update(overrides)
        return make_forge(fake.kind, **args)  # type: ignore[arg-type]

    return build
