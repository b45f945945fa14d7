"""The status page of a running ``automator run`` as a person sees it in headless
Chromium: both sources, the Site rows, the failing one with its reason, and markup
from the registry and the config repo shown as text, never run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from testing import MissingServer
from testing.cdp import Chromium
from tests.conftest import need
from tests.operators.conftest import EVIL_PATH, EVIL_POLICY, RunningDaemon

EVIL_TAG = "<script>alert(1)</script>"  # testing.hostile_registry offers it for evil/app

# what is on the screen: each source's heading and class, the rows of its Sites table
READ_PAGE = """(() => [...document.querySelectorAll('section')].map(s => ({
  id: s.id,
  failing: s.classList.contains('failing'),
  heading: s.querySelector('h2').innerText,
  sites: [...s.querySelectorAll('table.sites tr.site')].map(
    r => [...r.querySelectorAll('td')].map(c => c.innerText)),
  problems: [...s.querySelectorAll('ul.problems li')].map(li => li.innerText),
})))()"""


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    try:
        chromium = Chromium(tmp_path / "profile")
    except MissingServer as exc:
        need(exc)
    with chromium:
        yield chromium


def test_the_page_shows_both_sources_and_why_one_fails(
    daemon: RunningDaemon, browser: Chromium, tmp_path: Path
) -> None:
    browser.open(daemon.url + "/")
    shot = browser.screenshot(tmp_path / "status.png")
    assert shot.stat().st_size > 10_000  # a rendered page, kept beside the test for people
    assert browser.evaluate("document.title") == "automator status"
    fleet, broken = browser.evaluate(READ_PAGE)

    assert fleet["id"] == "source-fleet" and not fleet["failing"]
    assert fleet["heading"] == "Source fleet: ok"
    sites: list[list[str]] = fleet["sites"]
    api = f"{daemon.registry_host}/operators/api"
    evil = f"{daemon.evil_host}/evil/app"
    # where, image, current, proposed, policy, status, reason
    assert [row[:6] for row in sites] == [
        [f"{EVIL_PATH}:12", evil, "1.4.2", "1.4.3", EVIL_POLICY, "changed"],
        ["apps/api.yaml:12", api, "1.4.2", "1.4.3", "semver:~1.4", "changed"],
    ]
    assert all(row[6].startswith("highest version of 2 eligible") for row in sites)

    assert broken["id"] == "source-broken" and broken["failing"]
    assert broken["heading"].startswith("Source broken: failing (")
    assert "missing.git: fetch failed (remote error: no such repository" in broken["heading"]
    assert broken["sites"] == []


def test_markup_from_the_registry_and_the_config_repo_is_inert(
    daemon: RunningDaemon, browser: Chromium
) -> None:
    browser.open(daemon.url + "/")
    counts: dict[str, Any] = browser.evaluate(
        """({scripts: document.scripts.length,
            images: document.images.length,
            handlers: [...document.querySelectorAll('*')].filter(
              e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            links: [...document.links].map(a => a.getAttribute('href'))})"""
    )
    assert counts == {"scripts": 0, "images": 0, "handlers": 0, "links": ["/status"]}
    text = browser.evaluate("document.body.innerText")
    assert EVIL_PATH in text and EVIL_POLICY in text  # shown, as text
    assert EVIL_TAG not in text  # the registry's <script> tag never passed the tag grammar
    # nothing ran: no dialog opened, no error was thrown, no console message
    kinds = {e["method"] for e in browser.events}
    assert not kinds & {
        "Page.javascriptDialogOpening",
        "Runtime.exceptionThrown",
        "Runtime.consoleAPICalled",
    }


def test_the_json_at_status_is_the_same_data(daemon: RunningDaemon) -> None:
    answer = requests.get(daemon.url + "/status", timeout=5)
    assert answer.headers["Content-Type"] == "application/json"
    fleet, broken = answer.json()["sources"]
    assert (fleet["name"], fleet["last"]["result"]) == ("fleet", "ok")
    assert len(fleet["last"]["commit"]) == 40  # the commit scanned
    assert len(fleet["last"]["pushed"]) == 40  # and the one pushed on top of it
    assert [site["file"] for site in fleet["sites"]] == [EVIL_PATH, "apps/api.yaml"]
    assert fleet["next_at"] > answer.json()["now"]
    assert (broken["name"], broken["last"]["result"]) == ("broken", "failed")
    assert broken["failures"] >= 1 and "no such repository" in broken["last"]["error"]
    page = requests.get(daemon.url + "/", timeout=5)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none'
