"""What a tag listing knows about itself: whether it is whole, and if not, how far it got.

Registries list tags in lexical order (the distribution spec's ``n``/``last``
paging). So a listing cut short by a cap or by broken paging still holds every tag
up to the greatest one it read, as long as the pages really came in order; and a
listing can start just before a prefix (``last=``) and stop once tags pass it.
A listing that is not whole is never used as if it were: it becomes an
``IncompleteListing`` error, which a policy anchored on a prefix can still use
when every tag with that prefix was read (``automator.plan``).
"""

from __future__ import annotations

from dataclasses import dataclass

from automator.errors import IncompleteListing

# tag characters in byte order (the reference grammar's [A-Za-z0-9_.-]), and the
# longest tag: the greatest tag below a prefix is the prefix's last character
# lowered by one, then "z" up to that length
TAG_CHARS = "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
MAX_TAG = 128


@dataclass(frozen=True, slots=True)
class TagListing:
    """One repository's tags and how complete the listing is."""

    repository: str  # canonical name
    tags: tuple[str, ...]  # valid tags, sorted
    dropped: int = 0  # answers that failed the tag grammar
    complete: bool = True  # False when a cap or a refused Link cut the listing short
    pages: int = 0  # tag pages requested (a 304 answered from the cache counts as one)
    cached: bool = False  # the registry said the cached list (by ETag) is current
    stopped: str = ""  # why it is not complete: "stopped at 20000 tags (max_tags)"
    through: str | None = None  # in lexical order, every tag up to this one was read
    prefix: str = ""  # only the tags that start with this were listed

    def error(self, host: str) -> IncompleteListing:
        """This listing as the error that stops its use, with what to do about it."""
        if "max_" in self.stopped:
            hint = (
                f"raise max_tags for {host} under registries: in automator.yaml, or anchor"
                " the policy on a prefix (filter=^v1\\.) so that only its tags are listed"
            )
        else:
            hint = "the registry's paging is broken; anchor the policy on a prefix (filter=^v1\\.)"
        within = f" of those starting with {self.prefix!r}" if self.prefix else ""
        return IncompleteListing(
            f"{self.repository}: the tag listing{within} is incomplete ({self.stopped}),"
            f" so the policy was not applied; {hint}",
            self.tags,
            self.through,
        )


def before(prefix: str) -> str:
    """The greatest possible tag that sorts before every tag starting with ``prefix``."""
    head, last = prefix[:-1], prefix[-1:]
    at = TAG_CHARS.find(last)
    if at <= 0:
        return head
    return (head + TAG_CHARS[at - 1]).ljust(MAX_TAG, "z")


class PageOrder:
    """Watches pages arrive: are they in lexical order, and what is the greatest tag?"""

    def __init__(self) -> None:
        self.ordered = True
        self.highest = ""

    def saw(self, page: list[str]) -> bool:
        """Record a page's valid tags; True when the listing moved forward."""
        if not page:
            return False
        if page != sorted(page) or (self.highest and page[0] <= self.highest):
            self.ordered = False
        moved = page[-1] > self.highest
        self.highest = max(self.highest, page[-1])
        return moved

    def past(self, prefix: str) -> bool:
        """Whether the (ordered) listing has gone past every tag starting with ``prefix``."""
        return bool(prefix) and self.ordered and self.highest[: len(prefix)] > prefix
