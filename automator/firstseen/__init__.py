"""First-seen times for ``min-age=...;age-from=first-seen``, kept in the config repo.

record.py   the text format: parse, render, merge (earliest wins), prune
store.py    ``FirstSeenStore``: one source's record on ``refs/automator/first-seen/<source>``,
            written by compare-and-swap, merged and retried when another replica wins
cycle.py    ``FirstSeenCycle``: what one reconcile reads and records (``automator.plan.FirstSeen``)
report.py   ``first_seen_notes``: what ``check`` says of each first-seen Site
"""

from automator.firstseen.cycle import FirstSeenCycle, first_seen_repositories
from automator.firstseen.record import RecordError, merge_earliest, parse_record, render_record
from automator.firstseen.report import first_seen_notes
from automator.firstseen.store import FILE, REF_PREFIX, FirstSeenStore, Recorded

__all__ = [
    "FILE",
    "REF_PREFIX",
    "FirstSeenCycle",
    "FirstSeenStore",
    "RecordError",
    "Recorded",
    "first_seen_notes",
    "first_seen_repositories",
    "merge_earliest",
    "parse_record",
    "render_record",
]
