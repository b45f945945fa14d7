"""The status page at ``/``: server-rendered HTML, no JavaScript, a little CSS.

Every value is escaped with :func:`html.escape` (quotes too) where it is written, and
the page forbids scripts outright with a Content-Security-Policy, so a tag, a path or
a policy with markup in it reads as text. Links are only the pull requests' http(s)
URLs that :mod:`.status` kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from html import escape

from automator.daemon.status import HoldRow, Problem, PullRequest, SiteRow, SoakRow, SourceStatus

# no script, style only from this page, nothing loaded from elsewhere
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'"

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code { font-family: ui-monospace, monospace; word-break: break-all; }
.ok { color: #1a7f37; font-weight: 600; } .failed { color: #cf222e; font-weight: 600; }
.pending { color: #777; } .error { background: #ffebe9; }
section.failing { border-left: 4px solid #cf222e; padding-left: .8em; }
section.healthy { border-left: 4px solid #1a7f37; padding-left: .8em; }
"""


def render_page(sources: Iterable[SourceStatus], now: float) -> str:
    """The whole page for ``sources`` as of ``now`` (Unix time)."""
    body = "".join(_source(s, now) for s in sources) or "<p>No sources configured.</p>"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width'>"
        "<title>automator status</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>automator status</h1><p>As of {_when(now)}. "
        "The same data as JSON: <a href=/status>/status</a>.</p>"
        f"{body}</body></html>\n"
    )


def _source(s: SourceStatus, now: float) -> str:
    last = s.last
    if last is None:
        state, summary = "pending", "first reconcile not finished"
    elif last.result == "failed":
        state = "failed"
        summary = f"failing ({s.failures} in a row): {_e(last.error)}"
    else:
        state, summary = "ok", "ok"
    section = "failing" if state == "failed" else "healthy"
    lines = [
        f"<section class={section} id='source-{_e(s.name)}'>",
        f"<h2>Source <code>{_e(s.name)}</code>: <span class={state}>{summary}</span></h2>",
        "<table class=reconcile><tr><th>Last reconcile</th><th>Commit</th><th>Duration</th>"
        "<th>Outcome</th><th>Next</th></tr>",
    ]
    if last is not None:
        commit = last.pushed or last.commit
        pushed = " (pushed)" if last.pushed else ""
        lines.append(
            f"<tr><td>{_when(last.started)}</td>"
            f"<td><code>{_e((commit or '-')[:12])}</code>{pushed}</td>"
            f"<td>{last.seconds:.2f}s</td><td class={state}>{_e(last.result)}</td>"
            f"<td>{_next(s, now)}</td></tr>"
        )
    else:
        lines.append(f"<tr><td colspan=4 class=pending>none yet</td><td>{_next(s, now)}</td></tr>")
    lines.append("</table>")
    lines.append(_sites(s.sites))
    lines.append(_holds(s.holds))
    lines.append(_soaks(s.soaks))
    lines.append(_problems(s.problems))
    lines.append(_pulls(s.pull_requests))
    lines.append("</section>")
    return "".join(lines)


def _sites(rows: tuple[SiteRow, ...]) -> str:
    if not rows:
        return "<p class=pending>No Sites known yet.</p>"
    head = (
        "<table class=sites><tr><th>Where</th><th>Image</th><th>Current</th><th>Proposed</th>"
        "<th>Policy</th><th>Status</th><th>Reason</th></tr>"
    )
    cells = "".join(
        f"<tr class='site {_e(r.status)}'><td><code>{_e(r.file)}:{r.line}</code></td>"
        f"<td><code>{_e(r.image)}</code></td><td><code>{_e(r.current)}</code></td>"
        f"<td><code>{_e(r.proposed or '-')}</code></td><td><code>{_e(r.policy)}</code></td>"
        f"<td>{_e(r.status)}</td><td>{_e(r.reason)}</td></tr>"
        for r in rows
    )
    return f"{head}{cells}</table>"


def _holds(holds: tuple[HoldRow, ...]) -> str:
    if not holds:
        return ""
    head = (
        "<h3>Held, rolled back and declined</h3><table class=holds><tr><th>Where</th>"
        "<th>Image</th><th>Kind</th><th>Reason</th><th>By</th></tr>"
    )
    cells = "".join(
        f"<tr class='hold {_e(h.kind)}'><td><code>{_e(h.where)}</code></td>"
        f"<td><code>{_e(h.image)}</code></td><td>{_e(h.kind)}</td><td>{_e(h.reason)}</td>"
        f"<td>{_link(h.by, h.url)}</td></tr>"
        for h in holds
    )
    return f"{head}{cells}</table>"


def _soaks(soaks: tuple[SoakRow, ...]) -> str:
    if not soaks:
        return ""
    head = (
        "<h3>Promotions in soak</h3><table class=soaks><tr><th>Where</th><th>Image</th>"
        "<th>Tag</th><th>From</th><th>Commit</th><th>Until</th></tr>"
    )
    cells = "".join(
        f"<tr class=soak><td><code>{_e(p.where)}</code></td><td><code>{_e(p.image)}</code></td>"
        f"<td><code>{_e(p.tag)}</code></td><td><code>{_e(p.source)}</code></td>"
        f"<td><code>{_e(p.commit)}</code></td><td>{_e(p.until)}</td></tr>"
        for p in soaks
    )
    return f"{head}{cells}</table>"


def _link(text: str, url: str | None) -> str:
    return f"<a href='{_e(url)}'>{_e(text)}</a>" if url else _e(text)


def _problems(problems: tuple[Problem, ...]) -> str:
    if not problems:
        return ""
    items = "".join(
        f"<li{' class=error' if p.error else ''}>{'error' if p.error else 'skipped'}: "
        f"<code>{_e(p.where)}</code>: {_e(p.reason)}</li>"
        for p in problems
    )
    return f"<h3>Skips and errors</h3><ul class=problems>{items}</ul>"


def _pulls(pulls: tuple[PullRequest, ...]) -> str:
    if not pulls:
        return ""
    items = "".join(
        f"<li><code>{_e(p.branch)}</code> ({_e(p.outcome)})"
        + (f": <a href='{_e(p.url)}'>{_e(p.url)}</a>" if p.url else "")
        + "</li>"
        for p in pulls
    )
    return f"<h3>Open pull requests</h3><ul class=pulls>{items}</ul>"


def _next(s: SourceStatus, now: float) -> str:
    if s.running:
        return "running now"
    if s.next_at is None:
        return "-"
    left = max(0.0, s.next_at - now)
    return f"{_when(s.next_at)} (in {left:.0f}s)"


def _when(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix))


def _e(text: str) -> str:
    return escape(text, quote=True)
