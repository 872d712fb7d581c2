"""Trending papers: the window's papers ranked by community upvotes (issue 19).

The ranking rule, in one place (docs/TRENDING.md explains it to readers):

1. Only visible papers (not hidden by a moderator, not a merged duplicate) first ingested in the
   window ``(start, end]`` that have an upvote count (today: Hugging Face Daily Papers) take part.
2. More upvotes first; on a tie, more comments first; on a tie again, the paper ingested first
   (lower id) first -- it reached that count in less time, and the order never changes between
   runs of the same data.
3. ``rank`` is a paper's place in the whole window's list (before any category filter), so
   "#2 on Hugging Face today" is true whatever categories a reader chose.
4. A paper a subscriber already received (on yesterday's list, or matched by their interests) is
   skipped by the planner and the next one moves up; nobody gets a paper twice.

Upvotes are read as stored when the slot is planned: ingestion refreshes them in place on every
fetch of the source, and the beat fetches any overdue upvote source before it plans
(``digest.services.ingest.runs.feeds_refresh_stale``), so figures are never older than the feed's cadence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.db.models.functions import Left
from django.utils import timezone

from digest.db import Listed, in_batches
from digest.models import Feed, Paper, SentPaper, Subscription

# The feeds whose papers carry community upvotes (``Paper.popularity``).
UPVOTE_FEED_KINDS = (Feed.Kind.HF_DAILY,)


@dataclass(frozen=True, slots=True)
class TrendingPaper:
    key: int
    upvotes: int
    comments: int
    rank: int
    categories: tuple[str, ...]
    snippet: str = ""  # the abstract's opening, for the card (no matched word picks a passage)


SNIPPET_CHARS = 400


def trending_sort_key(paper: TrendingPaper) -> tuple[int, int, int]:
    """The ranking rule's order: upvotes, then comments (both descending), then the earlier paper."""
    return (-paper.upvotes, -paper.comments, paper.key)


def trending_rank(papers: Iterable[TrendingPaper]) -> list[TrendingPaper]:
    """``papers`` best first, each with its ``rank`` (1 = most upvoted) in this list."""
    ordered = sorted(papers, key=trending_sort_key)
    return [
        TrendingPaper(p.key, p.upvotes, p.comments, place, p.categories, p.snippet)
        for place, p in enumerate(ordered, start=1)
    ]


def trending_in_categories(papers: Sequence[TrendingPaper], categories: Iterable[str]) -> list[TrendingPaper]:
    """Those of ``papers`` listed in any of ``categories`` (all of them when none are given); order kept."""
    wanted = {c.strip() for c in categories if c.strip()}
    if not wanted:
        return list(papers)
    return [p for p in papers if wanted.intersection(p.categories)]


def trending_papers(*, start: datetime, end: datetime, categories: Iterable[str] = ()) -> list[TrendingPaper]:
    """The window's trending list, best first (the module's ranking rule), limited to ``categories``."""
    rows = (
        Paper.objects.filter(
            hidden=False,
            duplicate_of__isnull=True,
            popularity__isnull=False,
            ingested_at__gt=start,
            ingested_at__lte=end,
        )
        .order_by()
        .values_list("id", "popularity", "num_comments", "categories", Left("abstract", SNIPPET_CHARS))
    )
    ranked = trending_rank(
        TrendingPaper(key, upvotes, comments or 0, 0, tuple(cats or ()), _snippet(opening or ""))
        for key, upvotes, comments, cats, opening in rows
    )
    return trending_in_categories(ranked, categories)


def _snippet(opening: str) -> str:
    """The abstract's opening cut at a word (the email trims it further to fit its card)."""
    text = " ".join(opening.split())
    if len(text) < SNIPPET_CHARS - 1:
        return text
    cut = text.rfind(" ", 0, SNIPPET_CHARS - 40)
    return (text[:cut] if cut > 0 else text[: SNIPPET_CHARS - 40]).rstrip(" ,;:.") + "…"


@dataclass(frozen=True, slots=True)
class TrendingChoice:
    """What a subscriber asked of trending: a trending digest of ``limit`` papers, or a section of ``limit``."""

    digest: bool
    categories: tuple[str, ...]
    limit: int


def trending_choices(*, subscription_ids: Sequence[int]) -> dict[int, TrendingChoice]:
    """The subscribers among ``subscription_ids`` who want trending papers (a digest or a section)."""
    found: dict[int, TrendingChoice] = {}
    wants = Q(digest=Subscription.Digest.TRENDING) | Q(trending_section__gt=0)
    for batch in in_batches(list(subscription_ids)):
        rows = Subscription.objects.filter(wants, id__any=Listed(batch)).values_list(
            "id", "digest", "trending_categories", "max_papers", "trending_section"
        )
        for sub_id, digest, categories, max_papers, section in rows:
            is_digest = digest == Subscription.Digest.TRENDING
            found[sub_id] = TrendingChoice(
                digest=is_digest,
                categories=tuple(sorted(categories or ())),
                limit=max_papers if is_digest else section,
            )
    return found


@dataclass(frozen=True, slots=True)
class TrendingCard:
    """One trending paper as the preview and the command line show it."""

    key: int
    title: str
    url: str
    hf_url: str
    upvotes: int
    comments: int
    rank: int
    categories: tuple[str, ...]


def trending_cards(
    *, end: datetime, days: int = 1, categories: Iterable[str] = (), limit: int = 10, exclude: Iterable[int] = ()
) -> list[TrendingCard]:
    """The current trending list of the last ``days`` days, best first, without the papers in ``exclude``."""
    skip = set(exclude)
    start = end - timedelta(days=days)
    ranked = [p for p in trending_papers(start=start, end=end, categories=categories) if p.key not in skip][:limit]
    papers = Paper.objects.filter(id__in=[p.key for p in ranked]).only("id", "title", "url", "hf_url").in_bulk()
    return [
        TrendingCard(
            key=p.key,
            title=papers[p.key].title,
            url=papers[p.key].url,
            hf_url=papers[p.key].hf_url,
            upvotes=p.upvotes,
            comments=p.comments,
            rank=p.rank,
            categories=p.categories,
        )
        for p in ranked
        if p.key in papers
    ]


def trending_preview_for(*, subscription: Subscription, categories: Iterable[str] | None = None) -> list[TrendingCard]:
    """Today's trending list as this subscriber would get it: their categories (unless given), their
    number of papers (a trending digest) or up to 10 (a section), without papers they already had."""
    is_digest = subscription.digest == Subscription.Digest.TRENDING
    return trending_cards(
        end=timezone.now(),
        categories=subscription.trending_categories or () if categories is None else categories,
        limit=subscription.max_papers if is_digest else 10,
        exclude=SentPaper.objects.filter(subscription_id=subscription.id).values_list("paper_id", flat=True),
    )
