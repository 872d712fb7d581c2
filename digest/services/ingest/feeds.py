"""Creating feeds from the command line (``add_feed``): the operator vouches for them, so they start approved."""

from __future__ import annotations

import logging
from pathlib import Path

from digest.ingest.arxiv import ARXIV_CATEGORY_RE
from digest.ingest.text import text_clean, url_clean
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
    url = url.strip()
    if kind == Feed.Kind.RSS and not url_clean(url):
        raise FeedConfigError("an RSS/Atom feed needs an http(s) --url")
    if kind == Feed.Kind.JSONL:
        if not url:
            raise FeedConfigError("a JSON Lines feed needs --url (a file path or an http(s) URL)")
        if not url_clean(url):
            path = Path(url).expanduser().resolve()
            if not path.is_file():
                raise FeedConfigError(f"no such file: {path}")
            url = str(path)
    elif url and not url_clean(url):
        raise FeedConfigError(f"--url must be an http(s) URL, got {url!r}")
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
