"""The traffic checks catch what they are there to catch (else a green run means nothing)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from testing.forgespec import Exchange

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")

Checks = dict[str, Callable[[Exchange], list[str]]]
JSON = {"Content-Type": "application/json"}


def exchange(
    method: str, path: str, body: object, status: int, response: object, **query: str
) -> Exchange:
    return Exchange(
        method,
        path,
        {k: [v] for k, v in query.items()},
        JSON,
        json.dumps(body).encode() if body is not None else b"",
        status,
        json.dumps(response).encode(),
    )


@pytest.mark.parametrize(
    ("kind", "bad"),
    [
        # a client that forgot the head branch
        (
            "github",
            exchange("POST", "/api/v3/repos/a/b/pulls", {"title": "t", "base": "main"}, 404, {}),
        ),
        # GitLab wants label arrays in JSON bodies
        (
            "gitlab",
            exchange("PUT", "/api/v4/projects/a%2Fb/merge_requests/1", {"add_labels": 5}, 404, {}),
        ),
        # Gitea's create takes label IDs, not names
        (
            "gitea",
            exchange(
                "POST", "/api/v1/repos/a/b/pulls", {"head": "x", "labels": ["deps"]}, 404, None
            ),
        ),
        # Forgejo's list has no base_branch filter
        ("forgejo", exchange("GET", "/api/v1/repos/a/b/pulls", None, 200, [], base_branch="main")),
        # an operation the description does not have
        ("gitea", exchange("DELETE", "/api/v1/repos/a/b/pulls/1", None, 204, None)),
    ],
)
def test_bad_requests_are_caught(checks: Checks, kind: str, bad: Exchange) -> None:
    assert checks[kind](bad)


@pytest.mark.parametrize(
    ("kind", "bad"),
    [
        (
            "github",
            exchange("PATCH", "/api/v3/repos/a/b/pulls/1", {"title": "t"}, 200, {"title": "t"}),
        ),
        (
            "gitlab",
            exchange("GET", "/api/v4/projects/1/merge_requests", None, 200, [{"iid": "one"}]),
        ),
        ("gitea", exchange("GET", "/api/v1/repos/a/b/pulls/1", None, 200, {"number": "1"})),
        ("forgejo", exchange("PATCH", "/api/v1/repos/a/b/pulls/1", {"title": "t"}, 200, {})),
    ],
)
def test_bad_responses_are_caught(checks: Checks, kind: str, bad: Exchange) -> None:
    assert checks[kind](bad)
