"""The dashboard's decisions with in-memory issues and side refs: counted, not timed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from automator.forges.issues import Issue
from automator.write.dashboard import STALE_CLAIM_S, Dashboard

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


@dataclass(frozen=True)
class Value:
    commit: str
    message: str
    written: float


@dataclass
class Refs:
    value: Value | None = None
    swaps: int = 0

    def read(self, ref: str) -> Value | None:
        return self.value

    def swap(self, ref: str, message: str, expected: str | None) -> str | None:
        self.swaps += 1
        if (self.value.commit if self.value else None) != expected:
            return None
        self.value = Value(f"c{self.swaps}", message, 1000.0)
        return self.value.commit


def dashboard(issues: Issues, refs: Refs, now: float = 1000.0) -> Dashboard:
    return Dashboard("fleet", "automator dashboard: fleet", issues, refs, now=lambda: now)


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
    refs = Refs()

    class Lost(Refs):
        def swap(self, ref: str, message: str, expected: str | None) -> str | None:
            return None  # another replica pushed first

    assert dashboard(issues, Lost()).sync(BODY).action == "waiting"
    assert "create" not in issues.calls and refs.value is None


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
