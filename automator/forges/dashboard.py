"""The status issue (dashboard) of one source, as Markdown: a pure function of the plan.

The first line is a hidden marker naming the source, by which any replica finds the
issue again. Everything that came from the config repo or a registry (paths, image
names, tags, policies, reasons) is escaped by :func:`escape`: Markdown punctuation
is backslash-escaped and ``< > & @`` become entities, so a tag or a hold reason can
neither inject markup or HTML nor mention people. Links are only the forge's own
pull-request URLs, percent-encoded where Markdown would end them. The text holds no
time and no replica name, so every replica renders the same text for the same plan
and the issue is edited only when something changed.

A reconcile that failed as a whole is shown by ``error`` (its one-line message, which
holds no secret): an "Errors" section at the top, above the Sites of the last plan
that ran to the end (``plan``), or alone when none is known (``plan`` None).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from automator.model import Change, Plan, Site, Skip

MAX_BODY = 60_000  # GitHub refuses issue bodies over 65,536 characters
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}


def dashboard_marker(source: str) -> str:
    """The hidden first line that identifies the dashboard of ``source``."""
    name = quote(source, safe="._").replace("--", "-%2D")  # no "--" inside a comment
    return f"<!-- automator:dashboard source={name} -->"


def escape(text: str) -> str:
    """``text`` as literal Markdown: no markup, no HTML, no mention, on one line."""
    text = _PUNCTUATION.sub(r"\\\1", " ".join(text.split()))
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def link(text: str, url: str | None) -> str:
    """``[text](url)`` for an http(s) URL, else the escaped text alone."""
    if not url or not url.startswith(("https://", "http://")):
        return escape(text)
    return f"[{escape(text)}]({quote(url, safe=':/?&=%#+,;~')})"


def render_dashboard(
    source: str,
    plan: Plan | None,
    pull_requests: Mapping[str, str] = {},
    committed: str | None = None,
    error: str | None = None,
) -> str:
    """The dashboard of ``source`` for ``plan``; ``pull_requests`` gives the URL of the
    pull request that carries each pending change, by its Site (``file:line``). In push
    mode ``committed`` is the commit that already made the changes. ``error``: why the
    last reconcile failed as a whole (``plan`` is then the last one that succeeded)."""
    lines = [
        dashboard_marker(source),
        f"automator keeps this issue up to date for source **{escape(source)}**; edits are"
        " overwritten. Close it to stop the updates; reopen it to resume them.",
    ]
    if error is not None:
        lines += _section("Errors", [f"- the last reconcile failed: {escape(error)}"])
        if plan is not None:
            lines += ["", "What follows is the last reconcile that succeeded."]
    if plan is None:
        return _bounded("\n".join(lines) + "\n")
    held = [s for s in plan.skipped if s.site is not None and _kind(s) in ("hold", "rollback")]
    declined = [s for s in plan.skipped if s.site is not None and _kind(s) == "declined"]
    soaking = [s for s in plan.skipped if _soaking(s)]
    decided = {id(s) for s in (*held, *declined, *soaking)}
    errors = [s for s in plan.skipped if s.error and id(s) not in decided]
    others = [s for s in plan.skipped if not s.error and id(s) not in decided]
    lines += [
        "",
        f"{len(plan.changes)} {'updated' if committed else 'pending'}, {len(declined)} declined,"
        f" {len(held)} held,"
        f" {len(soaking)} in soak, {len(errors)} errors, {_site_count(plan)} Sites.",
    ]
    title = f"Updated by commit {escape(committed[:12])}" if committed else "Pending updates"
    lines += _section(title, [_pending(c, pull_requests) for c in plan.changes])
    lines += _section("Declined", [_declined(s) for s in declined])
    lines += _section("Held", [_held(s) for s in held])
    lines += _section("Promotions in soak", [_soak(s) for s in soaking])
    lines += _section("Errors", [_skip(s) for s in errors])
    lines += _section("Skipped", [_skip(s) for s in others])
    lines += _sites(plan, "updated" if committed else "pending")
    return _bounded("\n".join(lines) + "\n")


def _kind(skip: Skip) -> str:
    return skip.hold.kind if skip.hold is not None else ""


def _soaking(skip: Skip) -> bool:
    site = skip.site
    return (
        site is not None
        and skip.hold is None
        and site.promotion is not None
        and not site.promotion.ready
        and not site.promotion.problem
    )


def _where(site: Site) -> str:
    return escape(site.where)


def _tag(site: Site) -> str:
    return site.image.tag or site.image.digest or ""


def _pending(change: Change, pull_requests: Mapping[str, str]) -> str:
    site = change.site
    new = change.image.tag or change.image.digest or ""
    url = pull_requests.get(site.where)
    via = f" ({link('pull request', url)})" if url else ""
    return f"- {_where(site)}: {escape(site.image.name)} {escape(_tag(site))} → {escape(new)}{via}"


def _declined(skip: Skip) -> str:
    assert skip.site is not None and skip.hold is not None
    version = skip.reason.split(" declined:", 1)[0]
    return (
        f"- {_where(skip.site)}: {escape(version)}, declined in"
        f" {link('the closed pull request', skip.hold.by)}"
    )


def _held(skip: Skip) -> str:
    assert skip.site is not None and skip.hold is not None
    hold = skip.hold
    what = "rolled back" if hold.kind == "rollback" else "held"
    return (
        f"- {_where(skip.site)}: {escape(skip.site.image.name)} {escape(_tag(skip.site))}"
        f" {what} by {escape(hold.by)}: {escape(hold.reason)}"
    )


def _soak(skip: Skip) -> str:
    site = skip.site
    assert site is not None and site.promotion is not None
    return f"- {_where(site)}: {escape(site.image.name)}: {escape(site.promotion.chain())}"


def _skip(skip: Skip) -> str:
    return f"- {escape(skip.where)}: {escape(skip.reason)}"


def _section(title: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    return ["", f"### {title} ({len(items)})", "", *items]


def _site_count(plan: Plan) -> int:
    return len(plan.changes) + len(plan.current) + sum(1 for s in plan.skipped if s.site)


def _sites(plan: Plan, changed: str) -> list[str]:
    rows: list[tuple[Site, str]] = [(c.site, changed) for c in plan.changes]
    rows += [(s, "up to date") for s in plan.current]
    rows += [(s.site, _status(s)) for s in plan.skipped if s.site is not None]
    if not rows:
        return []
    head = "| Site | Image | Tag | Policy | Status |\n| --- | --- | --- | --- | --- |"
    table = ["", "### Sites", "", head]
    for site, status in sorted(rows, key=lambda r: (r[0].file, r[0].line)):
        cells = (site.where, site.image.name, _tag(site), site.policy, status)
        table.append("| " + " | ".join(escape(c) for c in cells) + " |")
    return table


def _status(skip: Skip) -> str:
    if skip.error:
        return "error"
    if skip.hold is not None:
        return {"declined": "declined", "rollback": "rolled back"}.get(skip.hold.kind, "held")
    return "in soak" if _soaking(skip) else "skipped"


def _bounded(text: str) -> str:
    if len(text) <= MAX_BODY:
        return text
    cut = text.rfind("\n", 0, MAX_BODY - 200)
    return text[:cut] + "\n\n… cut here: the rest is in `automator plan` and the status page.\n"
