"""Pull requests against fake forges served on 127.0.0.1, traffic checked against each
forge's API description (see conftest)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from automator.errors import ForgeError
from automator.forges import Forge, PullRequest, PullRequestExists, ensure_pr, make_forge, sync_pr
from automator.secrets import Secret
from testing.fakeforge import FakeForge
from tests.automator.forges.conftest import TOKEN
from tests.faketime import FakeTime

# openapi-core warns about GitLab's oauth2 scheme, which these requests do not use
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type")

HEAD = "automator/all"
Connect = Callable[..., Forge]


def test_first_update_opens_a_pull_request(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    pr, action = forge.ensure_pr(HEAD, "main", "Update ghcr.io/acme/api to 1.4.3", "body", ["deps"])
    assert action == "created"
    assert (pr.head, pr.base, pr.title, pr.state) == (
        HEAD,
        "main",
        "Update ghcr.io/acme/api to 1.4.3",
        "open",
    )
    assert [(p.head, p.labels) for p in fake.open_prs()] == [(HEAD, ["deps"])]
    assert forge.find_open_pr(HEAD, "main") == pr


def test_newer_tag_updates_the_same_pull_request(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    first, _ = forge.ensure_pr(HEAD, "main", "Update api to 1.4.3", "one")
    second, action = forge.ensure_pr(HEAD, "main", "Update api to 1.4.4", "two")
    assert action == "updated"
    assert second.number == first.number
    assert (second.title, second.body) == ("Update api to 1.4.4", "two")
    again, action = forge.ensure_pr(HEAD, "main", "Update api to 1.4.4", "two")
    assert (again.number, action) == (first.number, "unchanged")
    assert len(fake.prs) == 1


def test_update_landing_on_base_closes_the_pull_request(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    pr, outcome = sync_pr(forge, head=HEAD, base="main", content=("Update api", "body"))
    assert outcome == "created" and pr is not None
    closed, outcome = sync_pr(forge, head=HEAD, base="main", content=None)
    assert outcome == "closed" and closed is not None
    assert closed.state == "closed" and closed.number == pr.number
    assert fake.open_prs() == []
    assert sync_pr(forge, head=HEAD, base="main", content=None) == (None, "none")


def test_two_clients_racing_open_exactly_one_pull_request(
    fake: FakeForge, connect: Connect
) -> None:
    fake.hold_lists(2)  # both look before either creates: one create must be refused
    results: list[tuple[PullRequest, str]] = []
    errors: list[BaseException] = []

    def run(body: str) -> None:
        try:
            results.append(connect().ensure_pr(HEAD, "main", "Update api", body))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"body {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len(fake.prs) == 1
    assert sorted(action for _, action in results) == ["created", "updated"]
    assert {pr.number for pr, _ in results} == {1}


def test_already_exists_is_found_and_updated(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    forge.create_pr(HEAD, "main", "old", "old")
    with pytest.raises(PullRequestExists) as caught:
        forge.create_pr(HEAD, "main", "new", "new")
    message = str(caught.value)
    assert "\n" not in message and "already exists" in message.lower()
    assert not caught.value.transient

    class Blind:
        """Finds nothing the first time, as a writer that lost a race would."""

        def __init__(self) -> None:
            self.calls = 0

        def find_open_pr(self, head: str, base: str) -> PullRequest | None:
            self.calls += 1
            return None if self.calls == 1 else forge.find_open_pr(head, base)

        def create_pr(self, *args: object, **kwargs: object) -> PullRequest:
            return forge.create_pr(*args, **kwargs)  # type: ignore[arg-type]

        def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
            return forge.update_pr(pr, title, body)

    pr, action = ensure_pr(Blind(), HEAD, "main", "new", "new")
    assert (action, pr.title, len(fake.prs)) == ("updated", "new", 1)


def test_missing_branch_is_a_permanent_one_line_error(fake: FakeForge, connect: Connect) -> None:
    with pytest.raises(ForgeError) as caught:
        connect().create_pr("automator/nope", "main", "t", "b")
    assert not caught.value.transient and not isinstance(caught.value, PullRequestExists)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{fake.kind} acme/fleet: ")


def test_rate_limit_is_waited_out(fake: FakeForge, connect: Connect) -> None:
    fake.inject(429, {"message": "API rate limit exceeded"}, {"Retry-After": "1"})
    clock = FakeTime()
    _, action = connect(http=clock.http()).ensure_pr(HEAD, "main", "t", "b")
    assert action == "created"
    assert clock.sleeps == [1.0]  # the Retry-After, waited out once


def test_rate_limit_reset_header_is_waited_out(fake: FakeForge, connect: Connect) -> None:
    reset = str(int(time.time()) + 1)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    fake.inject(
        403, {"message": "API rate limit exceeded for user", "documentation_url": ""}, headers
    )
    clock = FakeTime()
    _, action = connect(http=clock.http()).ensure_pr(HEAD, "main", "t", "b")
    assert action == "created"
    assert len(clock.sleeps) == 1 and 1.0 <= clock.sleeps[0] <= 2.0  # until the reset


def test_rate_limit_longer_than_the_bound_is_transient(fake: FakeForge, connect: Connect) -> None:
    body = {"message": "You have exceeded a secondary rate limit.", "documentation_url": ""}
    fake.inject(403, body, {"Retry-After": "120"})
    clock, answers = FakeTime(), []
    http = clock.http(count=lambda host, status: answers.append(status))
    with pytest.raises(ForgeError) as caught:
        connect(max_wait_s=2, http=http).ensure_pr(HEAD, "main", "t", "b")
    assert clock.sleeps == [] and answers == [403]  # 120 s is past the 2 s: no wait at all
    assert caught.value.transient
    assert "rate limited for 120s" in str(caught.value) and "secondary rate limit" in str(
        caught.value
    )


def test_server_errors_are_retried(fake: FakeForge, connect: Connect) -> None:
    fake.inject(502, {"message": "Bad Gateway"}, times=2)
    clock = FakeTime()
    _, action = connect(http=clock.http()).ensure_pr(HEAD, "main", "t", "b")
    assert action == "created"
    assert len(clock.sleeps) == 2 and sum(clock.sleeps) <= 0.5 + 1.0 + 1e-9  # jittered backoff


def test_server_errors_past_the_bound_are_transient(fake: FakeForge, connect: Connect) -> None:
    fake.inject(503, {"message": "Service Unavailable"}, times=100)
    clock, answers = FakeTime(), []
    http = clock.http(count=lambda host, status: answers.append(status))
    with pytest.raises(ForgeError) as caught:
        connect(max_wait_s=1, http=http).find_open_pr(HEAD, "main")
    assert caught.value.transient and "503" in str(caught.value)
    assert sum(clock.sleeps) <= 1.0 + 1e-9  # the waits stay inside max_wait_s
    assert answers == [503] * (len(clock.sleeps) + 1) and len(answers) <= 6  # six at most


def test_bad_token_is_a_permanent_one_line_error_without_the_token(
    fake: FakeForge, connect: Connect
) -> None:
    forge = connect(token=Secret("wrong-" + TOKEN))
    with pytest.raises(ForgeError) as caught:
        forge.ensure_pr(HEAD, "main", "t", "b")
    message = str(caught.value)
    assert not caught.value.transient
    assert "\n" not in message and "401" in message and "token" in message
    assert TOKEN not in message and TOKEN not in repr(caught.value) and TOKEN not in repr(forge)


def test_forge_message_echoing_the_token_is_redacted(fake: FakeForge, connect: Connect) -> None:
    fake.inject(400, {"message": f"bad header {TOKEN}"})
    with pytest.raises(ForgeError) as caught:
        connect().find_open_pr(HEAD, "main")
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)


def test_unreachable_forge_is_transient() -> None:
    forge = make_forge(
        "github",
        api_url="http://127.0.0.1:9",
        repository="a/b",
        token=Secret(TOKEN),
        max_wait_s=0.5,
    )
    with pytest.raises(ForgeError) as caught:
        forge.find_open_pr(HEAD, "main")
    assert caught.value.transient and "cannot reach 127.0.0.1:9" in str(caught.value)


def test_auto_merge(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    pr, _ = forge.ensure_pr(HEAD, "main", "t", "b")
    if fake.kind == "github":
        with pytest.raises(ForgeError, match="GraphQL"):
            forge.enable_auto_merge(pr)
        return
    forge.enable_auto_merge(pr)
    assert fake.prs[0].auto_merge


def test_other_pull_requests_are_not_mistaken_for_ours(fake: FakeForge, connect: Connect) -> None:
    forge = connect()
    forge.create_pr("automator/image/ghcr.io/acme/api", "main", "other", "x")
    assert forge.find_open_pr(HEAD, "main") is None
    pr, action = forge.ensure_pr(HEAD, "main", "ours", "y")
    assert action == "created" and pr.number == 2
