"""Commit messages: a ``string.Template`` filled with the list of changes.

Placeholders (``$name`` or ``${name}``):

    $subject   "Update ghcr.io/acme/api to 1.4.3", or "Update 3 images"
    $changes   one line per change:
               "- ghcr.io/acme/api 1.4.2 -> 1.4.3 in clusters/prod/api.yaml (Deployment/api)"
    $count     how many changes
    $images    the image names, comma-separated, sorted
    $files     the changed files, comma-separated, sorted

The default is ``DEFAULT_TEMPLATE``: the subject, a blank line, the change list.
``skip_ci`` appends ``[skip ci]`` to the first line, which GitHub Actions, GitLab CI
and most other CI systems honour.

``with_trailers`` ends a message with one ``Automator-Update: <file> <image>:<tag>``
trailer per change: with the author, it is how automator knows its own commits in
the history (a rollback is a commit by someone else that moves a field back).
"""

from __future__ import annotations

from collections.abc import Sequence
from string import Template

from automator.errors import ConfigError
from automator.model import Change

DEFAULT_TEMPLATE = "$subject\n\n$changes\n"
FIELDS = ("subject", "changes", "count", "images", "files")
SKIP_CI = "[skip ci]"
TRAILER = "Automator-Update"


def render_message(
    changes: Sequence[Change], template: str | None = None, skip_ci: bool = False
) -> str:
    """The commit message for ``changes``, from ``template`` (default ``DEFAULT_TEMPLATE``)."""
    data = {
        "subject": _subject(changes),
        "changes": "\n".join(f"- {_line(c)}" for c in changes),
        "count": str(len(changes)),
        "images": ", ".join(sorted({c.site.image.name for c in changes})),
        "files": ", ".join(sorted({c.site.file for c in changes})),
    }
    try:
        text = Template(template or DEFAULT_TEMPLATE).substitute(data)
    except (KeyError, ValueError) as exc:
        raise ConfigError(
            f"write.commit.template: bad placeholder {exc}; use"
            f" {', '.join('$' + f for f in FIELDS)} (write $$ for a dollar sign)"
        ) from exc
    text = text.strip("\n") + "\n"
    if skip_ci:
        first, sep, rest = text.partition("\n")
        text = f"{first} {SKIP_CI}{sep}{rest}"
    return text


def with_trailers(message: str, changes: Sequence[Change], held: Sequence[str] = ()) -> str:
    """``message`` with a line per ``held`` Site and an ``Automator-Update`` trailer per change."""
    text = message.rstrip("\n") + "\n"
    if held:
        text += "\nHeld:\n" + "".join(f"- {line}\n" for line in held)
    lines = sorted({f"{TRAILER}: {c.site.file} {c.image}" for c in changes})
    return text + "\n" + "\n".join(lines) + "\n" if lines else text


def is_automator_commit(message: str) -> bool:
    """Whether ``message`` carries automator's trailer (with the author, marks its commits)."""
    return any(line.startswith(f"{TRAILER}: ") for line in message.splitlines())


def check_template(template: str) -> None:
    """Raise ConfigError now if ``template`` would fail when a commit is made."""
    render_message((), template)


def _subject(changes: Sequence[Change]) -> str:
    images = sorted({c.site.image.name for c in changes})
    if len(images) == 1:
        targets = sorted({_version(c, new=True) for c in changes})
        return f"Update {images[0]} to {', '.join(targets)}"
    if not images:
        return "Update images"
    return f"Update {len(images)} images"


def _line(change: Change) -> str:
    where = f" ({change.site.workload})" if change.site.workload else ""
    return (
        f"{change.site.image.name} {_version(change, new=False)} ->"
        f" {_version(change, new=True)} in {change.site.file}{where}"
    )


def _version(change: Change, *, new: bool) -> str:
    image = change.image if new else change.site.image
    return image.tag or image.digest or "latest"
