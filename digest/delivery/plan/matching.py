"""Matching a shard's candidates against their windows' papers: what each subscriber gets, as a
function that makes their stored content when their row is written."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from digest.content import ContentEntry, ContentJson, ContentMemo
from digest.delivery.schedule import Candidate
from digest.delivery.window import PlanWindow, plan_window
from digest.feedback.personalise import RERANK_POOL_FACTOR, content_split, digests_personalise
from digest.feedback.quiet import quiet_notes_for
from digest.library.combine import POOL_FACTOR as LIBRARY_POOL_FACTOR
from digest.library.planning import digests_with_libraries
from digest.library.selectors import subscription_ids_with_library
from digest.matching import Match, Profile, match_profiles
from digest.selectors.delivery import (
    interests_by_subscription,
    sent_paper_ids,
    subscriptions_with_ranker,
)

# Makes one subscriber's ``Delivery.content`` and its JSON text (what the row stores).
ContentMaker = Callable[[], tuple[Sequence[ContentEntry], str]]


def content_made(encoder: ContentJson, make: Callable[[], list[ContentEntry]]) -> tuple[Sequence[ContentEntry], str]:
    content = make()
    return content, encoder.dumps(content)


def _content_of_matches(
    window: PlanWindow, found: list[Match], memo: ContentMemo
) -> tuple[Sequence[ContentEntry], str]:
    """A subscriber's matches as stored: through the window's shared entries when they cover them
    (``ContentShared``), else the reference way (``content_split``, with labelled suggestions)."""
    made = window.shared.content(found)
    if made is not None:
        return made
    return content_made(window.encoder, functools.partial(content_split, found, memo))


def match_candidates(
    *, candidates: Sequence[Candidate], starts: dict[int, datetime], now: datetime
) -> tuple[dict[int, ContentMaker], int]:
    """Match every candidate against the papers of their own window, in one engine pass per window.

    Returns, for each subscriber with something to send, a function that makes their
    ``Delivery.content`` (the matches' explanations -- reasons, snippets -- are most of planning's
    cost, so they are worked out batch by batch as rows are written) and the number of papers
    considered. Subscribers whose previous digest went out in the same run share a window, so in
    practice there are few windows. Papers a subscriber already received are left out exactly:
    the engine is asked for ``limit + already sent`` so the top N after removing them is still the true
    top N. Subscribers with a learned ranking get a larger pool for it to re-order and may get a few
    labelled suggestions; those who asked for quiet-day notes get their nearest misses when nothing matched.
    """
    interests = interests_by_subscription(subscription_ids=[c.subscription_id for c in candidates])
    by_window: dict[datetime, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_window[starts[c.subscription_id]].append(c)
    results: dict[int, ContentMaker] = {}
    paper_total: set[int] = set()
    for start, group in by_window.items():
        window = plan_window(start=start, end=now)
        docs, index = window.docs, window.index
        if index is None:
            continue
        paper_total.update(doc.key for doc in docs)
        ids = [c.subscription_id for c in group]
        already = sent_paper_ids(subscription_ids=ids, paper_ids=[d.key for d in docs])
        learners = subscriptions_with_ranker(subscription_ids=ids)
        # A library's papers are fused with a deeper pool of keyword matches (digest/library/combine.py).
        pooled = learners | subscription_ids_with_library(subscription_ids=ids)
        pool_factor = max(RERANK_POOL_FACTOR, LIBRARY_POOL_FACTOR)
        profiles = [
            Profile(
                key=c.subscription_id,
                interests=interests.get(c.subscription_id, ()),
                muted=c.muted,
                limit=c.max_papers * (pool_factor if c.subscription_id in pooled else 1)
                + len(already.get(c.subscription_id, ())),
            )
            for c in group
        ]
        limits = {c.subscription_id: c.max_papers for c in group}
        memo = window.memo_bounded()
        fresh = {
            sub_id: [m for m in matches if m.paper_key not in sent] if (sent := already.get(sub_id)) else matches
            for sub_id, matches in match_profiles(index, profiles).items()
        }
        # Papers like the subscriber's library, ranked in with the keyword matches (issue 17).
        fresh = digests_with_libraries(
            matches=fresh,
            docs=docs,
            subscription_ids=ids,
            exclude=already,
            limits=limits,
            paper_index=index,
            muted={c.subscription_id: c.muted for c in group},
        )
        personal = (
            digests_personalise(
                matches={s: m for s, m in fresh.items() if s in learners}, docs=docs, exclude=already, limits=limits
            )
            if learners
            else {}
        )
        for sub_id, matches in fresh.items():
            found = personal[sub_id] if sub_id in personal else matches[: limits[sub_id]]
            if found:
                results[sub_id] = functools.partial(_content_of_matches, window, found, memo)
        quiet = [p for p, c in zip(profiles, group, strict=True) if c.quiet_day_note and p.key not in results]
        if quiet:
            notes = quiet_notes_for(profiles=quiet, index=index, exclude=already)
            results.update(
                {
                    sub_id: functools.partial(content_made, window.encoder, functools.partial(list, note))
                    for sub_id, note in notes.items()
                }
            )
    return results, len(paper_total)
