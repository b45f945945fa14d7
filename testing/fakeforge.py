"""Fake GitHub, GitLab and Gitea/Forgejo pull-request APIs, served for real on 127.0.0.1.

Pull requests live in memory; the branches that exist are given by the test. Errors
have the real forges' status codes and body shapes (422 "already exists" on GitHub,
409 on GitLab and Gitea). ``inject`` queues canned answers (rate limits, 5xx) that
are sent before any real handling. Every exchange is handed to ``check`` (see
``forgespec``); its problems are collected in ``problems``, which the fixture asserts
empty, so traffic that the forge's API description rejects fails the test.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from testing import fakeissues
from testing.fakeissues import FakeIssue
from testing.forgespec import Exchange

Answer = tuple[int, Any, dict[str, str]]
CANNED = "X-Fake-Canned"  # marks an injected answer
STAMP = "2026-11-26T12:00:00Z"


@dataclass
class FakePR:
    number: int
    head: str
    base: str
    title: str
    body: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    auto_merge: bool = False


class FakeForge:
    """One repository on one fake forge. Use as a context manager."""

    def __init__(
        self,
        kind: str,
        *,
        token: str,
        repository: str = "acme/fleet",
        branches: Iterable[str] | Callable[[], Iterable[str]] = ("main",),
        check: Callable[[Exchange], list[str]] | None = None,
        examples: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.token = token
        self.repository = repository
        # a callable reads the branches of a real remote at each request
        self._branches = branches if callable(branches) else set(branches)
        self.check = check
        self.examples = examples or {}
        self.prs: list[FakePR] = []
        self.issues: list[FakeIssue] = []
        self.problems: list[str] = []
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        self._canned: list[Answer] = []
        self._barrier: threading.Barrier | None = None
        self._issue_barrier: threading.Barrier | None = None
        self._router = {"github": _github, "gitlab": _gitlab}.get(kind, _gitea)
        self.prefix = {"github": "/api/v3", "gitlab": "/api/v4"}.get(kind, "/api/v1")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def branches(self) -> set[str]:
        found = self._branches
        return set(found()) if callable(found) else found

    @branches.setter
    def branches(self, value: Iterable[str]) -> None:
        self._branches = set(value)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeForge:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(
        self, status: int, body: Any, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests with this, whatever they ask."""
        with self.lock:
            self._canned += [(status, body, headers or {})] * times

    def hold_lists(self, parties: int) -> None:
        """Let the next ``parties`` list calls answer only once all of them have arrived."""
        self._barrier = threading.Barrier(parties, timeout=10)

    def hold_issue_lists(self, parties: int) -> None:
        """Let the next ``parties`` issue list calls answer only once all have arrived."""
        self._issue_barrier = threading.Barrier(parties, timeout=30)

    def calls(self, method: str, suffix: str) -> int:
        """Requests so far with ``method`` whose path ends with ``suffix``."""
        return sum(1 for m, path, _ in self.log if m == method and path.endswith(suffix))

    def open_prs(self) -> list[FakePR]:
        return [pr for pr in self.prs if pr.state == "open"]

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: Any,
    ) -> Answer:
        with self.lock:
            if self._canned:
                status, body, headers = self._canned.pop(0)
                return status, body, {**headers, CANNED: "1"}
        if not self._authorised(headers):
            return _unauthorised(self.kind)
        if (
            method == "GET"
            and self._barrier is not None
            and path.endswith(("/pulls", "/merge_requests"))
        ):
            barrier = self._barrier
            barrier.wait()
            self._barrier = None
        issue_barrier = self._issue_barrier
        if method == "GET" and issue_barrier is not None and path.endswith("/issues"):
            issue_barrier.wait()
            self._issue_barrier = None
        with self.lock:
            rest = path.removeprefix(self.prefix)
            issue = fakeissues.answer(self, method, rest, query, body)
            return issue or self._router(self, method, rest, query, body)

    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.kind == "github":
            return headers.get("Authorization") == f"Bearer {self.token}"
        if self.kind == "gitlab":
            return headers.get("Private-Token") == self.token
        return headers.get("Authorization") == f"token {self.token}"

    def find(self, head: str, base: str) -> FakePR | None:
        return next((p for p in self.open_prs() if p.head == head and p.base == base), None)

    def add(self, head: str, base: str, title: str, body: str) -> FakePR:
        pr = FakePR(len(self.prs) + 1, head, base, title, body)
        self.prs.append(pr)
        return pr


def _handler(fake: FakeForge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            query = parse_qs(url.query)
            headers = {
                k.title() if k.lower() != "private-token" else "Private-Token": v
                for k, v in self.headers.items()
            }
            status, obj, extra = fake.answer(
                self.command, url.path, query, headers, json.loads(raw or b"null")
            )
            data = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            fake.log.append((self.command, url.path, status))
            if fake.check is not None:
                exchange = Exchange(
                    self.command,
                    url.path,
                    query,
                    dict(self.headers.items()),
                    raw,
                    status,
                    data,
                    canned=CANNED in extra,
                )
                problems = fake.check(exchange)
                with fake.lock:
                    fake.problems += problems

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


def _unauthorised(kind: str) -> Answer:
    if kind == "github":
        body = {
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401",
        }
    elif kind == "gitlab":
        body = {"message": "401 Unauthorized"}
    else:
        body = {
            "message": "user does not exist [uid: 0, name: ]",
            "url": "http://127.0.0.1/api/swagger",
        }
    return 401, body, {}


# ---- GitHub --------------------------------------------------------------------------


def _github(
    fake: FakeForge, method: str, path: str, query: dict[str, list[str]], body: Any
) -> Answer:
    owner, repo = fake.repository.split("/")
    parts = path.strip("/").split("/")
    if parts[:3] != ["repos", owner, repo]:
        return (
            404,
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            {},
        )
    rest = parts[3:]
    if rest == ["pulls"] and method == "GET":
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        state = query.get("state", ["open"])[0]
        found = [
            p
            for p in fake.prs
            if state in ("all", p.state)
            # GitHub ignores a head filter without OWNER: and lists everything
            and (head is None or ":" not in head or f"{owner}:{p.head}" == head)
            and (base is None or p.base == base)
        ]
        keys = fake.examples["pull-request-simple-items"]["value"][0].keys()
        return 200, [{k: v for k, v in _github_pr(fake, p).items() if k in keys} for p in found], {}
    if rest == ["pulls"] and method == "POST":
        if body["head"] not in fake.branches:
            return (
                422,
                _github_invalid([{"resource": "PullRequest", "field": "head", "code": "invalid"}]),
                {},
            )
        if fake.find(body["head"], body["base"]) is not None:
            message = f"A pull request already exists for {owner}:{body['head']}."
            return (
                422,
                _github_invalid(
                    [{"resource": "PullRequest", "code": "custom", "message": message}]
                ),
                {},
            )
        pr = fake.add(body["head"], body["base"], body["title"], body.get("body") or "")
        return 201, _github_pr(fake, pr), {}
    if len(rest) == 2 and rest[0] == "pulls" and method == "PATCH":
        pr = fake.prs[int(rest[1]) - 1]
        for key in ("title", "body", "state"):
            if key in body:
                setattr(pr, key, body[key])
        return 200, _github_pr(fake, pr), {}
    if len(rest) == 3 and rest[0] == "issues" and rest[2] == "labels" and method == "POST":
        pr = fake.prs[int(rest[1]) - 1]
        pr.labels += [name for name in body["labels"] if name not in pr.labels]
        template = fake.examples["label-items"]["value"][0]
        return (
            200,
            [dict(template, id=i + 1, node_id=f"L{i}", name=n) for i, n in enumerate(pr.labels)],
            {},
        )
    return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}


def _github_invalid(errors: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": errors,
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    }


def _github_pr(fake: FakeForge, pr: FakePR) -> dict[str, Any]:
    owner = fake.repository.split("/")[0]
    data: dict[str, Any] = copy.deepcopy(fake.examples["pull-request"]["value"])
    data.update(
        number=pr.number,
        title=pr.title,
        body=pr.body,
        state=pr.state,
        url=f"https://api.github.com/repos/{fake.repository}/pulls/{pr.number}",
        html_url=f"https://github.com/{fake.repository}/pull/{pr.number}",
        merged_at=None,
        closed_at=None if pr.state == "open" else STAMP,
        labels=[],
        requested_teams=[],  # the spec's own example lacks fields its team schema requires
    )
    data["head"].update(ref=pr.head, label=f"{owner}:{pr.head}")
    data["base"].update(ref=pr.base, label=f"{owner}:{pr.base}")
    return data


# ---- GitLab --------------------------------------------------------------------------


def _gitlab(
    fake: FakeForge, method: str, path: str, query: dict[str, list[str]], body: Any
) -> Answer:
    parts = path.strip("/").split("/")
    if parts[:2] != ["projects", quote(fake.repository, safe="")] and parts[:2] != [
        "projects",
        "42",
    ]:
        return 404, {"message": "404 Project Not Found"}, {}
    rest = parts[2:]
    if rest == ["merge_requests"] and method == "GET":
        state = {"opened": "open"}.get(
            query.get("state", ["all"])[0], query.get("state", ["all"])[0]
        )
        source = query.get("source_branch", [None])[0]
        target = query.get("target_branch", [None])[0]
        found = [
            p
            for p in fake.prs
            if state in ("all", p.state) and source in (None, p.head) and target in (None, p.base)
        ]
        return 200, [_gitlab_mr(fake, p) for p in found], {}
    if rest == ["merge_requests"] and method == "POST":
        if body["source_branch"] not in fake.branches:
            return 422, {"message": ["Source branch does not exist"]}, {}
        existing = fake.find(body["source_branch"], body["target_branch"])
        if existing is not None:
            message = (
                "Another open merge request already exists for this source branch:"
                f" !{existing.number}"
            )
            return 409, {"message": [message]}, {}
        new = fake.add(
            body["source_branch"],
            body["target_branch"],
            body["title"],
            body.get("description") or "",
        )
        new.labels = list(body.get("labels") or [])
        return 201, _gitlab_mr(fake, new), {}
    if len(rest) >= 2 and rest[0] == "merge_requests" and method == "PUT":
        pr = next((p for p in fake.prs if p.number == int(rest[1])), None)
        if pr is None:
            return 404, {"message": "404 Not found"}, {}
        if rest[2:] == ["merge"]:
            pr.auto_merge = bool(body.get("auto_merge") or body.get("merge_when_pipeline_succeeds"))
            return 200, _gitlab_mr(fake, pr), {}
        pr.title = body.get("title", pr.title)
        pr.body = body.get("description", pr.body)
        pr.labels += [name for name in body.get("add_labels") or [] if name not in pr.labels]
        if body.get("state_event") == "close":
            pr.state = "closed"
        return 200, _gitlab_mr(fake, pr), {}
    return 404, {"message": "404 Not found"}, {}


def _gitlab_mr(fake: FakeForge, pr: FakePR) -> dict[str, Any]:
    # null fields are left out: the description declares none of them nullable
    return {
        "id": 1000 + pr.number,
        "iid": pr.number,
        "project_id": 42,
        "title": pr.title,
        "description": pr.body,
        "state": {"open": "opened"}.get(pr.state, pr.state),
        "created_at": STAMP,
        "updated_at": STAMP,
        "target_branch": pr.base,
        "source_branch": pr.head,
        "labels": list(pr.labels),
        "draft": False,
        "merge_when_pipeline_succeeds": pr.auto_merge,
        "merge_status": "can_be_merged",
        "sha": "0" * 40,
        "web_url": f"https://gitlab.example.com/{fake.repository}/-/merge_requests/{pr.number}",
    }


# ---- Gitea / Forgejo ----------------------------------------------------------------


def _gitea(
    fake: FakeForge, method: str, path: str, query: dict[str, list[str]], body: Any
) -> Answer:
    owner, repo = fake.repository.split("/")
    parts = path.strip("/").split("/")
    if parts[:3] != ["repos", owner, repo]:
        return 404, None, {}
    rest = parts[3:]
    if rest == ["pulls"] and method == "GET":
        state = query.get("state", ["open"])[0]
        page, limit = int(query.get("page", ["1"])[0]), int(query.get("limit", ["30"])[0])
        found = [p for p in fake.prs if state in ("all", p.state)]
        return 200, [_gitea_pr(fake, p) for p in found[(page - 1) * limit : page * limit]], {}
    if rest == ["pulls"] and method == "POST":
        if body["head"] not in fake.branches:
            return (
                404,
                {"message": "branch does not exist", "url": "http://127.0.0.1/api/swagger"},
                {},
            )
        existing = fake.find(body["head"], body["base"])
        if existing is not None:
            message = (
                f"pull request already exists for these targets [id: {existing.number},"
                f" issue_id: {existing.number}, head_repo_id: 1, base_repo_id: 1,"
                f" head_branch: {existing.head}, base_branch: {existing.base}]"
            )
            return 409, {"message": message, "url": "http://127.0.0.1/api/swagger"}, {}
        new = fake.add(body["head"], body["base"], body["title"], body.get("body") or "")
        return 201, _gitea_pr(fake, new), {}
    if len(rest) >= 2 and rest[0] in ("pulls", "issues"):
        pr = next((p for p in fake.prs if p.number == int(rest[1])), None)
        if pr is None:
            return 404, None, {}
        if rest[0] == "pulls" and len(rest) == 2 and method == "PATCH":
            for key in ("title", "body", "state"):
                if key in body:
                    setattr(pr, key, body[key])
            return 201, _gitea_pr(fake, pr), {}
        if rest[2:] == ["merge"] and method == "POST":
            pr.auto_merge = bool(body.get("merge_when_checks_succeed"))
            return 200, None, {}
        if rest[2:] == ["labels"] and method == "POST":
            pr.labels += [name for name in body["labels"] if name not in pr.labels]
            return 200, [_gitea_label(i, n) for i, n in enumerate(pr.labels)], {}
    return 404, None, {}


def _gitea_label(i: int, name: str) -> dict[str, Any]:
    return {
        "id": i + 1,
        "name": name,
        "color": "00aabb",
        "description": "",
        "exclusive": False,
        "url": "",
    }


def _gitea_pr(fake: FakeForge, pr: FakePR) -> dict[str, Any]:
    def branch(ref: str) -> dict[str, Any]:
        return {"label": ref, "ref": ref, "sha": "0" * 40, "repo_id": 1}

    return {
        "id": 100 + pr.number,
        "number": pr.number,
        "title": pr.title,
        "body": pr.body,
        "state": pr.state,
        "draft": False,
        "merged": False,
        "mergeable": True,
        "html_url": f"https://gitea.example.com/{fake.repository}/pulls/{pr.number}",
        "url": f"https://gitea.example.com/{fake.repository}/pulls/{pr.number}",
        "head": branch(pr.head),
        "base": branch(pr.base),
        "labels": [_gitea_label(i, n) for i, n in enumerate(pr.labels)],
        "created_at": STAMP,
        "updated_at": STAMP,
    }
