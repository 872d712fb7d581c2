"""Creating feeds from the command line (``add_feed``): the operator vouches for them, so they start approved."""

from __future__ import annotations

import logging

from digest.ingest.arxiv import ARXIV_CATEGORY_RE
from digest.ingest.sources import SourceRefused, source_check
from digest.ingest.text import text_clean
from digest.models import Feed

logger = logging.getLogger(__name__)


class FeedConfigError(ValueError):
    """A feed definition we cannot use; the message says why."""


def feed_create(
    *,
    kind: str,
    name: str,
    url: str = "",
    categories: list[str] | None = None,
    params: dict | None = None,
    cadence_minutes: int | None = None,
) -> Feed:
    """Create an approved, enabled feed from the command line (the operator vouches for it)."""
    name = text_clean(name)
    if kind not in Feed.Kind.values:
        raise FeedConfigError(f"unknown kind {kind!r}; choose one of {', '.join(Feed.Kind.values)}")
    if not name:
        raise FeedConfigError("a feed needs a name")
    if Feed.objects.filter(name=name).exists():
        raise FeedConfigError(f"a feed named {name!r} already exists")
    cats = [c.strip() for c in (categories or []) if c.strip()]
    if kind in {Feed.Kind.ARXIV, Feed.Kind.ARXIV_RSS} and not cats:
        raise FeedConfigError("arXiv feeds need --categories, e.g. cs.LG,cs.CL")
    bad = [c for c in cats if not ARXIV_CATEGORY_RE.match(c)]
    if bad and kind in {Feed.Kind.ARXIV, Feed.Kind.ARXIV_RSS}:
        raise FeedConfigError(f"not arXiv categories: {', '.join(bad)}")
    try:
        url = source_check(kind=kind, url=url, files_allowed=True)
    except SourceRefused as exc:
        raise FeedConfigError(str(exc)) from None
    cadences: dict[str, int] = {Feed.Kind.ARXIV: 180, Feed.Kind.ARXIV_RSS: 60, Feed.Kind.HF_DAILY: 60}
    default_cadence = cadences.get(kind, 60)
    return Feed.objects.create(
        kind=kind,
        name=name,
        url=url,
        categories=" ".join(cats),
        params=params or {},
        cadence_minutes=cadence_minutes or default_cadence,
        state=Feed.State.APPROVED,
        enabled=True,
    )
