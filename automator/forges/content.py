"""The title and body of an automator pull request.

Everything that comes from outside (tags, image names, OCI labels, policies and
reasons, file paths) is shown inside code spans, where Markdown, HTML and autolinks
are inert; pipes are escaped so a cell cannot break the table, and line breaks are
flattened. Links are built only from plain http(s) URLs in OCI labels (a chart's
come from its index entry or its manifest's annotations under the same names,
``charts.links``); anything else is left out rather than escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from automator.forges.declined import Declined, proposed_marker
from automator.model import Change
from automator.reference import ImageRef

SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
HOMEPAGE = "org.opencontainers.image.url"
NOTES = "artifacthub.io/releaseNotes"  # a chart's release notes (its index entry or manifest)
TITLE_MAX = 200
ROWS_MAX = 100
BODY_MAX = 60_000  # GitHub refuses a body over 65,536 characters; GitLab and Gitea allow more
TEXT_MAX = 300
MARKER_RE = re.compile(r"<!-- automator:group=(\S+) -->")

_SAFE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~/%+=@-]*)?")
_REVISION = re.compile(r"[0-9a-f]{7,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

FOOTER = (
    "This pull request is kept up to date by automator: a newer tag updates it in place,"
    " and it is closed when the base branch already has these versions. Commits pushed"
    " to its branch are replaced on the next update."
)


@dataclass(slots=True)
class _Row:
    image: str
    old: str
    new: str
    ref: ImageRef
    policies: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    workloads: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    chart: bool = False  # a chart's tags are not its source repository's release tags


def render_pr(
    changes: Sequence[Change],
    *,
    group: str,
    labels_from_oci: Mapping[str, Mapping[str, str]] | None = None,
    declined: Sequence[Declined] = (),
    held: Sequence[str] = (),
) -> tuple[str, str]:
    """(title, body) of the pull request for one group of changes.

    ``labels_from_oci`` maps an image, by its new reference (``ghcr.io/acme/api:1.4.3``)
    or its repository name, to the OCI labels of its config; they give the links.
    ``declined`` are the group's pull requests a person closed unmerged: named, so the
    conversation picks up where it stopped. ``held`` are lines on the group's Sites a
    rollback holds, each naming the commit that caused it.
    """
    rows = _rows(changes)
    lines = [marker(group), proposed_marker(changes), "", _summary(rows, changes), ""]
    lines += ["| Image | Update | Policy | Workloads | Files |", "| --- | --- | --- | --- | --- |"]
    for row in rows[:ROWS_MAX]:
        lines.append(
            f"| {_cell(row.image)} | {_cell(row.old)} -> {_cell(row.new)}"
            f" | {_cells(row.policies)} | {_cells(row.workloads)} | {_cells(row.files)} |"
        )
    if len(rows) > ROWS_MAX:
        lines.append(f"\n{len(rows) - ROWS_MAX} more updates are not listed.")
    lines += ["", "### Why", ""]
    for row in rows[:ROWS_MAX]:
        lines.append(f"- {_code(row.image)} {_code(row.new)}: {'; '.join(map(_code, row.reasons))}")
    links = [(row, _links(row, labels_from_oci or {})) for row in rows[:ROWS_MAX]]
    if any(found for _, found in links):
        lines += ["", "### Source and release notes", ""]
        for row, found in links:
            if found:
                lines.append(f"- {_code(row.image)} {_code(row.new)}: {', '.join(found)}")
    lines += _declined(declined)
    if held:
        lines += ["", "### Held back", "", *(f"- {_code(line)}" for line in held)]
    return _title(rows), _capped(lines)


def _declined(declined: Sequence[Declined]) -> list[str]:
    if not declined:
        return []
    lines = ["", "### Declined before", ""]
    for decision in sorted(declined, key=lambda d: d.number):
        versions = ", ".join(_code(v) for v in sorted(decision.versions))
        lines.append(
            f"- {_url(decision.url) or _code(decision.url)} (#{decision.number}),"
            f" closed unmerged: {versions}"
        )
    lines.append("")
    lines.append(
        "A pull request closed without merging is a decision: its versions are not"
        " proposed again. Reopen it, or delete its branch, to undo that."
    )
    return lines


def _capped(lines: list[str]) -> str:
    """The body from ``lines`` and the footer, cut at a line to stay under ``BODY_MAX``."""
    body = "\n".join(lines)
    end = "\n".join(["", "---", FOOTER, ""])
    if len(body) + len(end) <= BODY_MAX:
        return body + end
    note = f"\n\nThe description was cut at {BODY_MAX} characters; the commit lists every change."
    keep = body.rfind("\n", 0, BODY_MAX - len(end) - len(note))
    return body[:keep] + note + end


def marker(group: str) -> str:
    """The hidden line that says a pull request belongs to automator's ``group``."""
    key = quote(group, safe="/:@+=,").replace("--", "-%2D")
    return f"<!-- automator:group={key} -->"


def group_of(body: str) -> str | None:
    """The group named by the marker in ``body``, or None when automator did not write it."""
    found = MARKER_RE.search(body)
    return unquote(found.group(1)) if found else None


def _rows(changes: Sequence[Change]) -> list[_Row]:
    rows: dict[tuple[str, str, str], _Row] = {}
    for change in changes:
        image, old, new = (
            change.site.image.name,
            _version(change.site.image),
            _version(change.image),
        )
        chart = change.site.chart is not None or change.site.artifact
        row = rows.setdefault((image, old, new), _Row(image, old, new, change.image, chart=chart))
        workload = change.site.workload
        if change.site.container:
            workload = (
                f"{workload} ({change.site.container})" if workload else change.site.container
            )
        for values, value in (
            (row.policies, change.site.policy),
            (row.reasons, change.reason),
            (row.workloads, workload),
            (row.files, change.site.file),
        ):
            if value and value not in values:
                values.append(value)
    return list(rows.values())


def _version(ref: ImageRef) -> str:
    text = ref.tag or ""
    if ref.digest:
        text += f"@{ref.digest[:19]}"  # sha256: and 12 hex digits, as registries show it
    return text or "latest"


def _title(rows: Sequence[_Row]) -> str:
    images = {row.image for row in rows}
    if len(images) == 1:
        (image,) = images
        news = {row.new for row in rows}
        title = f"Update {image} to {news.pop()}" if len(news) == 1 else f"Update {image}"
    else:
        title = f"Update {len(images)} images"
    return _flat(title)[:TITLE_MAX]


def _summary(rows: Sequence[_Row], changes: Sequence[Change]) -> str:
    files = {change.site.file for change in changes}
    images = {row.image for row in rows}
    return (
        f"automator updates {_count(len(images), 'image')} in {_count(len(files), 'file')}"
        " of this repository."
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _links(row: _Row, labels_from_oci: Mapping[str, Mapping[str, str]]) -> list[str]:
    labels = labels_from_oci.get(str(row.ref)) or labels_from_oci.get(row.image) or {}
    source = _url(labels.get(SOURCE, "")).removesuffix(".git").rstrip("/")
    notes = _url(labels.get(NOTES, ""))
    found = []
    if source:
        found.append(f"[source]({source})")
        revision = labels.get(REVISION, "").strip().lower()
        if _REVISION.fullmatch(revision):
            found.append(f"[commit {revision[:7]}]({source}/commit/{revision})")
        host = urlsplit(source).hostname if not (notes or row.chart) else None
        if row.ref.tag and host == "github.com":
            found.append(f"[release notes]({source}/releases/tag/{row.ref.tag})")
        elif row.ref.tag and host == "gitlab.com":
            found.append(f"[release notes]({source}/-/releases/{row.ref.tag})")
    homepage = _url(labels.get(HOMEPAGE, ""))
    if homepage and homepage.rstrip("/") != source:
        found.append(f"[homepage]({homepage})")
    if notes:
        found.append(f"[release notes]({notes})")
    return found


def _url(text: str) -> str:
    """``text`` when it is a plain http(s) URL that cannot break Markdown, else ""."""
    text = text.strip()
    return text if len(text) <= TEXT_MAX and _SAFE_URL.fullmatch(text) else ""


def _flat(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()


def _code(text: str, *, in_table: bool = False) -> str:
    """``text`` as one inline code span: Markdown, HTML and autolinks stay inert."""
    text = _flat(text)
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 3] + "..."
    if not text:
        return ""
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits cells before parsing code spans
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    return _code(text, in_table=True)


def _cells(values: Sequence[str]) -> str:
    return ", ".join(_cell(value) for value in values) or "-"
