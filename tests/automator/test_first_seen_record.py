"""The first-seen record: its text, merging, pruning, and the store's compare-and-swap loop
(through the ``Side`` seam: a table in memory that another writer can move)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from automator.errors import GitError
from automator.firstseen import FirstSeenStore, Recorded, RecordError, parse_record, render_record
from automator.firstseen.record import GRACE, HEADER, merge_earliest, updated
from automator.git import Identity
from automator.git.sideref import SideFile, Stale

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
API = "ghcr.io/acme/api"
WEB = "ghcr.io/acme/web"
ME = Identity("automator", "automator@example.test")


def test_render_is_sorted_and_parses_back() -> None:
    times = {(WEB, "2.0.0"): T0, (API, "1.4.3"): T0 + timedelta(hours=1), (API, "1.10.0"): T0}
    text = render_record(times)
    assert text == HEADER + (
        f"{API} 1.10.0 2026-12-01T10:00:00Z\n"
        f"{API} 1.4.3 2026-12-01T11:00:00Z\n"
        f"{WEB} 2.0.0 2026-12-01T10:00:00Z\n"
    )
    assert parse_record(text) == times
    assert parse_record("") == {} and parse_record(HEADER) == {}


def test_a_tag_listed_twice_keeps_its_earliest_time() -> None:
    text = f"{API} 1.4.3 2026-12-01T12:00:00Z\n\n{API} 1.4.3 2026-12-01T10:00:00Z\n"
    assert parse_record(text) == {(API, "1.4.3"): T0}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"{API} 1.4.3\n", "line 1 'ghcr.io/acme/api 1.4.3' is not '<repository> <tag> <time>'"),
        (f"# c\n{API} 1.4.3 yesterday\n", "line 2: 'yesterday' is not a UTC time"),
        (f"{API} 1.4.3 2026-12-01T10:00:00+01:00\n", "is not a UTC time like"),
        (f"{API} -bad 2026-12-01T10:00:00Z\n", "line 1: ghcr.io/acme/api -bad is not a repository"),
        ("Acme/API 1.0 2026-12-01T10:00:00Z\n", "is not a repository and a tag"),
    ],
)
def test_a_malformed_line_is_named(text: str, says: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(text)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_merge_takes_the_earliest_time_of_each_tag() -> None:
    a = {(API, "1.4.3"): T0, (API, "1.5.0"): T0 + timedelta(hours=2)}
    b = {(API, "1.4.3"): T0 + timedelta(minutes=5), (WEB, "2.0.0"): T0}
    assert (
        merge_earliest(a, b)
        == merge_earliest(b, a)
        == {
            (API, "1.4.3"): T0,
            (API, "1.5.0"): T0 + timedelta(hours=2),
            (WEB, "2.0.0"): T0,
        }
    )


def test_update_records_new_candidates_now_and_keeps_old_times() -> None:
    record = {(API, "1.4.3"): T0}
    now = T0 + timedelta(hours=3, microseconds=7)
    out = updated(record, {API: ["1.4.3", "1.4.4"]}, [API], now)
    assert out == {(API, "1.4.3"): T0, (API, "1.4.4"): T0 + timedelta(hours=3)}


def test_update_prunes_what_is_no_longer_needed() -> None:
    young = T0 + timedelta(hours=20)
    record = {
        (API, "1.4.3"): T0,  # no longer a candidate, recorded over GRACE ago: dropped
        (API, "1.4.4"): young,  # no longer a candidate, recent: a lagging replica may need it
        (WEB, "2.0.0"): T0,  # web was not listed this cycle but is in use: kept
        ("ghcr.io/acme/gone", "1.0.0"): T0,  # no first-seen Site uses it any more: dropped
    }
    now = T0 + GRACE + timedelta(seconds=1)
    assert updated(record, {API: []}, [API, WEB], now) == {
        (API, "1.4.4"): young,
        (WEB, "2.0.0"): T0,
    }


class Table:
    """A ``Side`` in memory: a commit counter and the bytes it holds; ``others`` are writes
    another replica makes just before each of ours."""

    where = "refs/automator/first-seen/fleet on git://example.test/fleet.git"

    def __init__(self, data: bytes | None = None, others: list[bytes] | None = None) -> None:
        self.data = data
        self.commit: str | None = None if data is None else "c0"
        self.others = others or []
        self.writes = 0

    def read(self) -> SideFile:
        return SideFile(self.commit, self.data)

    def write(self, data: bytes, expected: str | None, message: str, author: Identity) -> str:
        if self.others:
            self._put(self.others.pop(0))
        if expected != self.commit:
            raise Stale(f"at {self.commit}, not {expected}")
        return self._put(data)

    def _put(self, data: bytes) -> str:
        self.writes += 1
        self.data, self.commit = data, f"c{self.writes}"
        return self.commit


def test_a_lost_write_merges_the_winner_and_keeps_the_earliest_time() -> None:
    theirs = render_record({(API, "1.4.3"): T0}).encode()
    table = Table(others=[theirs])
    store = FirstSeenStore(table, ME)
    later = T0 + timedelta(minutes=10)

    saved = store.save(store.read(), {API: ["1.4.3", "1.4.4"]}, [API], later)

    assert store.rejected == 1
    assert (
        parse_record((table.data or b"").decode())
        == saved.times
        == {
            (API, "1.4.3"): T0,
            (API, "1.4.4"): later,
        }
    )


def test_writers_that_keep_winning_stop_the_loop_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rivals = [render_record({(API, f"1.4.{n}"): T0}).encode() for n in range(10)]
    store = FirstSeenStore(Table(others=rivals), ME, max_writes=3)
    store.save(Recorded(), {API: ["2.0.0"]}, [API], T0)
    assert store.rejected == 3
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "3 writers won in a row; the next cycle retries" in line


def test_nothing_new_writes_nothing() -> None:
    table = Table(render_record({(API, "1.4.3"): T0}).encode())
    store = FirstSeenStore(table, ME)
    store.save(store.read(), {API: ["1.4.3"]}, [API], T0 + timedelta(hours=1))
    assert table.writes == 0


def test_a_malformed_record_is_one_error_naming_the_ref_and_never_overwritten(
    caplog: pytest.LogCaptureFixture,
) -> None:
    table = Table(b"ghcr.io/acme/api 1.4.3\n")
    store = FirstSeenStore(table, ME)
    recorded = store.read()
    saved = store.save(recorded, {API: ["1.4.4"]}, [API], T0)

    assert recorded.times == {} and saved is recorded and table.writes == 0
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert line.startswith(f"{Table.where}: first-seen.txt is malformed: line 1 ")
    assert "delete the ref (git push origin :refs/automator/first-seen/fleet)" in line


class Refusing(Table):
    def write(self, data: bytes, expected: str | None, message: str, author: Identity) -> str:
        raise GitError(f"{self.where}: the server refused the update (hook declined)")


def test_a_refused_write_is_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    store = FirstSeenStore(Refusing(), ME)
    saved = store.save(store.read(), {API: ["1.4.4"]}, [API], T0)
    assert saved.commit is None and saved.times == {}
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    said = f"{Table.where}: the server refused the update (hook declined)"
    assert line == f"first-seen record not written: {said}"
