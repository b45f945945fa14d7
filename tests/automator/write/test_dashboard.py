"""The dashboard's decisions with in-memory issues and side refs: counted, not timed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import pytest

from automator.errors import GitError
from automator.forges.issues import Issue
from automator.git import Identity
from automator.git.sideref import SideFile, Stale
from automator.write.dashboard import MAX_READS, STALE_CLAIM_S, Dashboard

MARK = "<!-- automator:dashboard source=fleet -->"
BODY = f"{MARK}\ntext\n"


@dataclass
class Issues:
    issues: list[Issue] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def find_issues(self, containing: str) -> list[Issue]:
        self.calls.append("find")
        return [i for i in self.issues if containing in i.body]

    def get_issue(self, number: int) -> Issue | None:
        self.calls.append("get")
        return next((i for i in self.issues if i.number == number), None)

    def create_issue(self, title: str, body: str) -> Issue:
        self.calls.append("create")
        issue = Issue(
            len(self.issues) + 1, f"https://f/{len(self.issues) + 1}", title, body, "open"
        )
        self.issues.append(issue)
        return issue

    def edit_issue(self, issue: Issue, title: str, body: str) -> Issue:
        self.calls.append("edit")
        edited = replace(issue, title=title, body=body)
        self.issues[self.issues.index(issue)] = edited
        return edited


def Value(commit: str, message: str, written: float) -> SideFile:
    return SideFile(commit, None, message, written)


@dataclass
class Refs:
    """The side ref, in memory: a compare-and-swap that raises Stale when it moved."""

    value: SideFile | None = None
    swaps: int = 0
    reads: int = 0
    where: str = "refs/automator/dashboard/fleet on memory"

    def read(self) -> SideFile:
        self.reads += 1
        return self.value or SideFile(None, None)

    def write(
        self, data: bytes | None, expected: str | None, message: str, author: Identity
    ) -> str:
        self.swaps += 1
        if (self.value.commit if self.value else None) != expected:
            raise Stale(f"not at {expected}")
        self.value = Value(f"c{self.swaps}", message, 1000.0)
        return f"c{self.swaps}"


AUTHOR = Identity("automator", "automator@example.test")


def dashboard(issues: Issues, refs: Refs, now: float = 1000.0) -> Dashboard:
    title = "automator dashboard: fleet"
    return Dashboard("fleet", title, issues, refs, AUTHOR, now=lambda: now)


def test_created_once_then_read_by_number_and_edited_only_on_change() -> None:
    issues, refs = Issues(), Refs()
    assert dashboard(issues, refs).sync(BODY).action == "created"
    assert refs.value is not None and "Automator-Dashboard-Issue: 1" in refs.value.message
    issues.calls.clear()
    assert dashboard(issues, refs).sync(BODY).action == "unchanged"
    assert issues.calls == ["get"], "found by the ref: no listing, no edit"
    assert dashboard(issues, refs).sync(BODY + "more\n").action == "updated"
    assert issues.calls == ["get", "get", "edit"] and len(issues.issues) == 1


def test_a_deleted_issue_is_made_again_by_compare_and_swap() -> None:
    issues, refs = Issues(), Refs()
    dashboard(issues, refs).sync(BODY)
    issues.issues.clear()  # an admin deleted it
    assert dashboard(issues, refs).sync(BODY).action == "created"
    assert refs.value is not None and "Automator-Dashboard-Issue: 1" in refs.value.message


def test_a_fresh_claim_waits_a_stale_one_is_taken_over() -> None:
    issues = Issues()
    refs = Refs(Value("claim", "automator dashboard of source fleet: claim\n", 1000.0))
    assert dashboard(issues, refs, now=1000.0 + 60).sync(BODY).action == "waiting"
    assert "create" not in issues.calls and refs.swaps == 0
    late = 1000.0 + STALE_CLAIM_S + 1
    assert dashboard(issues, refs, now=late).sync(BODY).action == "created"
    assert issues.calls.count("create") == 1


def test_losing_the_claim_creates_nothing() -> None:
    issues = Issues()

    class Lost(Refs):
        def write(
            self, data: bytes | None, expected: str | None, message: str, author: Identity
        ) -> str:
            self.swaps += 1
            raise Stale("another replica pushed first")

    lost = Lost()
    assert dashboard(issues, lost).sync(BODY).action == "waiting"
    assert "create" not in issues.calls and lost.value is None
    assert lost.reads == lost.swaps == MAX_READS, "each lost race reads the ref again"


def test_a_lost_claim_reads_the_winners_number_and_creates_nothing() -> None:
    issues = Issues([Issue(7, "https://f/7", "automator dashboard: fleet", BODY, "open")])

    class Beaten(Refs):
        def write(
            self, data: bytes | None, expected: str | None, message: str, author: Identity
        ) -> str:
            if self.value is None:  # the winner recorded #7 between our read and our claim
                self.value = Value("won", "x\n\nAutomator-Dashboard-Issue: 7\n", 1000.0)
            return super().write(data, expected, message, author)

    class Unlisted(Issues):
        def find_issues(self, containing: str) -> list[Issue]:
            return []  # the winner's issue is not listed yet

    issues = Unlisted(issues.issues)
    beaten = Beaten()
    result = dashboard(issues, beaten).sync(BODY)
    assert result.action == "unchanged" and result.url == "https://f/7"
    assert "create" not in issues.calls and beaten.reads == 2


def test_a_refused_claim_is_one_warning_and_no_issue(caplog: pytest.LogCaptureFixture) -> None:
    issues = Issues()

    class Refused(Refs):
        def write(
            self, data: bytes | None, expected: str | None, message: str, author: Identity
        ) -> str:
            raise GitError(
                f"{self.where}: the server refused the update (hook declined); ask the"
                " repository owner to allow pushes to refs/automator/*"
            )

    caplog.set_level(logging.WARNING, logger="automator.write.dashboard")
    assert dashboard(issues, Refused()).sync(BODY).action == "refused"
    assert "create" not in issues.calls
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("fleet: dashboard not created: refs/automator/dashboard/fleet")
    assert "allow pushes to refs/automator/*, or turn write.dashboard off" in warning


def test_two_marked_issues_keep_the_oldest_and_a_closed_one_is_left_closed() -> None:
    issues = Issues(
        [
            Issue(4, "https://f/4", "t", BODY, "open"),
            Issue(2, "https://f/2", "t", BODY, "closed"),
        ]
    )
    refs = Refs()
    assert dashboard(issues, refs).sync(BODY + "x").action == "closed"
    assert "edit" not in issues.calls and "create" not in issues.calls
    assert refs.value is not None and "Automator-Dashboard-Issue: 2" in refs.value.message


class Unreadable(Refs):
    def read(self) -> SideFile:
        self.reads += 1
        raise GitError("refs/automator/dashboard/fleet on memory: remote gone; check the URL")


def test_edit_only_never_claims_nor_creates() -> None:
    issues, refs = Issues(), Refs()
    assert dashboard(issues, refs).edit_only(BODY).action == "absent"
    assert issues.calls == ["find"] and refs.swaps == 0 and issues.issues == []


def test_edit_only_finds_the_issue_by_its_marker_when_the_ref_cannot_be_read() -> None:
    issues, refs = (
        Issues([Issue(7, "https://f/7", "automator dashboard: fleet", BODY, "open")]),
        Unreadable(),
    )
    board = dashboard(issues, refs)
    assert board.edit_only(f"{MARK}\nfailed\n").action == "updated"
    assert board.edit_only(f"{MARK}\nfailed\n").action == "unchanged"
    assert issues.calls == ["find", "edit", "find"] and refs.swaps == 0


def test_edit_only_reads_the_recorded_issue() -> None:
    issue = Issue(7, "https://f/7", "automator dashboard: fleet", BODY, "open")
    issues = Issues([issue])
    refs = Refs(Value("c0", "x\n\nAutomator-Dashboard-Issue: 7\n", 0.0))
    assert dashboard(issues, refs).edit_only(f"{MARK}\nfailed\n").action == "updated"
    assert issues.calls == ["get", "edit"] and refs.swaps == 0
