"""Planning's trending step: one shared list per (window, categories), cut per subscriber (issue 19).

Trending subscribers (``Subscription.digest == "trending"``) get the top ``max_papers`` of their
window's trending list; keyword subscribers who switched the "Trending today" section on get up to
``trending_section`` trending papers after their personal matches. The ranked list of a window and a
set of categories is read once for everyone who shares them (in practice: a handful per run), and
each paper's stored entry is built once and shared, so a trending subscriber costs planning one walk
down a short list, skipping the papers they already received.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from digest.content import ContentEntry, content_paper_ids, content_trending_entry
from digest.delivery.schedule import Candidate
from digest.selectors.delivery import sent_paper_ids
from digest.selectors.trending import TrendingChoice, TrendingPaper, trending_choices, trending_papers

ContentMaker = Callable[[], list[ContentEntry]]
ListKey = tuple[datetime, tuple[str, ...]]


def trending_pick(
    ranked: Sequence[TrendingPaper], *, limit: int, exclude: set[int] | frozenset[int]
) -> list[TrendingPaper]:
    """The first ``limit`` papers of ``ranked`` not in ``exclude`` (already sent, or already in the digest)."""
    picked: list[TrendingPaper] = []
    for paper in ranked:
        if len(picked) >= limit:
            break
        if paper.key not in exclude:
            picked.append(paper)
    return picked


class _Entries:
    """One stored entry per trending paper for the whole planning pass (entries are only serialised)."""

    def __init__(self) -> None:
        # By paper and place: a paper ranks differently in two windows (subscribers whose last digest differs).
        self._memo: dict[tuple[int, int, int], ContentEntry] = {}

    def of(self, papers: Sequence[TrendingPaper]) -> list[ContentEntry]:
        out = []
        for p in papers:
            key = (p.key, p.rank, p.upvotes)
            entry = self._memo.get(key)
            if entry is None:
                entry = self._memo[key] = content_trending_entry(
                    paper_key=p.key, upvotes=p.upvotes, rank=p.rank, snippet=p.snippet
                )
            out.append(entry)
        return out


def trending_merge(
    *, candidates: Sequence[Candidate], starts: dict[int, datetime], until: datetime, contents: dict[int, ContentMaker]
) -> set[int]:
    """Give trending subscribers their list and add the "Trending today" section to keyword digests.

    ``contents`` (subscriber -> content maker, from matching) is updated in place. A trending
    subscriber's content is their list only (their interests, if any, are not used); a keyword
    subscriber gets the section only with a digest they would get anyway. Returns the ids of the
    trending subscribers, whose digests the runs dashboard counts apart.
    """
    choices = trending_choices(subscription_ids=[c.subscription_id for c in candidates])
    if not choices:
        return set()
    groups: dict[ListKey, list[int]] = defaultdict(list)
    for c in candidates:
        choice = choices.get(c.subscription_id)
        if choice is not None and choice.limit > 0:
            groups[(starts[c.subscription_id], choice.categories)].append(c.subscription_id)
    entries = _Entries()
    for (start, categories), ids in groups.items():
        ranked = trending_papers(start=start, end=until, categories=categories)  # once per shared list
        already = sent_paper_ids(subscription_ids=ids, paper_ids=[p.key for p in ranked]) if ranked else {}
        for sub_id in ids:
            _merge_one(
                sub_id,
                choices[sub_id],
                ranked=ranked,
                sent=already.get(sub_id, set()),
                contents=contents,
                entries=entries,
            )
    return {sub_id for sub_id, choice in choices.items() if choice.digest}


def _merge_one(
    sub_id: int,
    choice: TrendingChoice,
    *,
    ranked: Sequence[TrendingPaper],
    sent: set[int],
    contents: dict[int, ContentMaker],
    entries: _Entries,
) -> None:
    if choice.digest:
        picked = entries.of(trending_pick(ranked, limit=choice.limit, exclude=sent))
        if picked:
            contents[sub_id] = functools.partial(list, picked)
        else:
            contents.pop(sub_id, None)
        return
    personal = contents.get(sub_id)
    if personal is None or not ranked:
        return

    def with_section(personal: ContentMaker = personal) -> list[ContentEntry]:
        mine = personal()
        if any(entry.get("near_miss") for entry in mine):
            return mine  # a quiet-day note stays a note
        taken = sent | set(content_paper_ids(mine))
        return mine + entries.of(trending_pick(ranked, limit=choice.limit, exclude=taken))

    contents[sub_id] = with_section


def trending_test_content(
    *, categories: Sequence[str], limit: int, start: datetime, end: datetime
) -> list[ContentEntry]:
    """A test digest's trending content: the top ``limit`` of the window (a sample: nothing is skipped)."""
    ranked = trending_papers(start=start, end=end, categories=categories)
    return _Entries().of(trending_pick(ranked, limit=limit, exclude=frozenset()))
