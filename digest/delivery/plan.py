"""Planning: who is due, what they get, and one ``Delivery`` row each (the batching lives here).

``deliveries_plan`` finds the subscribers whose slot has come, matches the day's papers for all of
them in one pass of the matching engine, and writes one row each (UNIQUE subscriber + slot, so
planning twice plans nothing new), ``PLAN_BATCH`` rows per transaction. The matched papers are
stored on the row. Queueing the rows is the caller's (``on_chunks``): this module imports no task.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest.content import ContentEntry, ContentMemo, content_from_matches
from digest.db import in_batches
from digest.delivery.envelope import message_id_make
from digest.delivery.pg import deliveries_insert
from digest.delivery.schedule import Candidate, subscriber_zone
from digest.delivery.trending import trending_merge, trending_test_content
from digest.feedback.personalise import RERANK_POOL_FACTOR, content_split, digests_personalise
from digest.feedback.quiet import quiet_notes_for
from digest.library.combine import POOL_FACTOR as LIBRARY_POOL_FACTOR
from digest.library.planning import digests_with_libraries
from digest.library.selectors import subscription_ids_with_library
from digest.matching import PaperIndex, Profile, match_profiles
from digest.models import Delivery, DeliveryRun, Subscription
from digest.selectors.delivery import (
    candidates_due,
    deliveries_pending_of_run,
    interests_by_subscription,
    sent_paper_ids,
    subscriptions_with_ranker,
    window_starts,
)
from digest.selectors.papers import paper_docs_ingested_between

ChunksQueue = Callable[[list[list[int]]], None]


@dataclass
class PlanResult:
    run: DeliveryRun | None
    papers: int = 0
    planned: int = 0
    skipped: int = 0
    expired: int = 0
    trending: int = 0  # of planned: trending subscribers' digests
    chunks: list[list[int]] = field(default_factory=list)


ContentMaker = Callable[[], list[ContentEntry]]


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
        docs = paper_docs_ingested_between(start=start, end=now)
        if not docs:
            continue
        paper_total.update(doc.key for doc in docs)
        index = PaperIndex.build(docs)
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
        memo: ContentMemo = {}  # subscribers with the same interests share their entries
        fresh = {
            sub_id: [m for m in matches if m.paper_key not in already.get(sub_id, ())]
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
                results[sub_id] = functools.partial(content_split, found, memo)
        quiet = [p for p, c in zip(profiles, group, strict=True) if c.quiet_day_note and p.key not in results]
        if quiet:
            notes = quiet_notes_for(profiles=quiet, index=index, exclude=already)
            results.update({sub_id: functools.partial(list, note) for sub_id, note in notes.items()})
    return results, len(paper_total)


PLAN_BATCH = 1000  # rows written (and their chunks queued) per transaction while planning


def deliveries_plan(
    *,
    now: datetime | None = None,
    slot: date | None = None,
    papers_until: datetime | None = None,
    on_chunks: ChunksQueue | None = None,
) -> PlanResult:
    """Plan every due slot: one Delivery row per subscriber, matched content stored on it.

    Safe to run any number of times and from several processes at once: the UNIQUE constraint on
    (subscriber, slot) makes a second plan of the same slot a no-op. Rows are written and committed
    ``PLAN_BATCH`` at a time, and each batch's chunks go to ``on_chunks`` (the beat task queues them)
    as soon as it is committed, so workers send the first digests while the rest are still being
    planned. A planner that dies half way leaves whole batches behind; the next run plans the rest.
    """
    now = now or timezone.now()
    # The window's end: normally now; an operator re-running a past date stops at that day's end.
    until = min(papers_until or now, now)
    candidates = candidates_due(now=now, slot=slot)
    if not candidates:
        return PlanResult(run=None)
    starts = window_starts(candidates=candidates, now=until)
    matches, paper_count = match_candidates(candidates=candidates, starts=starts, now=until)
    trending_ids = trending_merge(candidates=candidates, starts=starts, until=until, contents=matches)

    run = DeliveryRun.objects.create(slot=slot or min(c.slot for c in candidates), papers=paper_count)
    result = PlanResult(run=run, papers=paper_count)
    for batch in _plan_batches(candidates):
        rows = [
            _planned_row(
                c,
                content=matches.get(c.subscription_id),
                run=run,
                now=now,
                until=until,
                start=starts[c.subscription_id],
                result=result,
            )
            for c in batch
        ]
        with transaction.atomic():
            deliveries_insert(rows=rows)
            pending = deliveries_pending_of_run(run_id=run.id, subscription_ids=[c.subscription_id for c in batch])
            # Kept current batch by batch: the runs dashboard shows a slot being planned, and a planner
            # that dies half way leaves a run whose count matches its rows.
            result.planned = Delivery.objects.filter(run=run).count()
            trending_batch = [c.subscription_id for c in batch if c.subscription_id in trending_ids]
            if trending_batch:  # this run's rows only: a subscriber another planner took is not counted twice
                result.trending += Delivery.objects.filter(run=run, subscription_id__in=trending_batch).count()
            DeliveryRun.objects.filter(id=run.id).update(planned=result.planned, trending=result.trending)
        chunks = [list(chunk) for chunk in in_batches(pending, settings.PAPERBOY_CHUNK_SIZE)]
        result.chunks.extend(chunks)
        if on_chunks is not None and chunks:
            on_chunks(chunks)
    # Only now may the sweeper call the run finished (it has no open rows between two batches, too).
    run.planning_finished_at = timezone.now()
    DeliveryRun.objects.filter(id=run.id).update(planning_finished_at=run.planning_finished_at)
    run.planned, run.trending = result.planned, result.trending
    return result


def _plan_batches(candidates: Sequence[Candidate]) -> Iterator[Sequence[Candidate]]:
    """The first batch is one chunk, so the workers can start while the rest is planned; then PLAN_BATCH."""
    first = min(settings.PAPERBOY_CHUNK_SIZE, PLAN_BATCH)
    yield candidates[:first]
    yield from in_batches(candidates[first:], PLAN_BATCH)


def _planned_row(
    c: Candidate,
    *,
    content: ContentMaker | None,
    run: DeliveryRun,
    now: datetime,
    until: datetime,
    start: datetime,
    result: PlanResult,
) -> Delivery:
    if now >= c.expires_at:  # its content is not worked out: it will never be sent
        state, found, error = Delivery.State.EXPIRED, [], "send window passed"
        result.expired += 1
    elif content is not None:
        state, found, error = Delivery.State.PENDING, content(), ""
    else:
        state, found, error = Delivery.State.SKIPPED, [], "no paper matched this subscriber's interests"
        result.skipped += 1
    return Delivery(
        subscription_id=c.subscription_id,
        run=run,
        slot=c.slot,
        kind=Delivery.Kind.DIGEST,
        state=state,
        send_at=c.send_at,
        expires_at=c.expires_at,
        to_email=c.email,
        message_id=message_id_make(),
        content=found,
        paper_count=len(found),
        last_error=error,
        planned_at=now,
        window_start=start,
        window_end=until,
    )


def delivery_send_test(*, subscription_id: int, on_chunks: ChunksQueue, now: datetime | None = None) -> Delivery:
    """A one-off digest of the last 7 days for the subscriber, sent right away (the web's test button).

    It is a sample of what they would get: it neither skips nor records papers already sent. The row
    goes to ``on_chunks`` (the caller's queue) when something matched.
    """
    now = now or timezone.now()
    subscription = Subscription.objects.select_related("user").get(id=subscription_id)
    docs = paper_docs_ingested_between(start=now - timedelta(days=7), end=now)
    profile = Profile(
        key=subscription.id,
        interests=tuple(subscription.interests.values_list("query", flat=True)),
        muted=tuple(subscription.muted_words or ()),
        limit=subscription.max_papers * LIBRARY_POOL_FACTOR,  # a library is fused with a deeper pool
    )
    found = match_profiles(PaperIndex.build(docs), [profile]).get(subscription.id, []) if docs else []
    found = digests_with_libraries(
        matches={subscription.id: found},
        docs=docs,
        subscription_ids=[subscription.id],
        exclude={},
        limits={subscription.id: subscription.max_papers},
        muted={subscription.id: profile.muted},
    ).get(subscription.id, [])[: subscription.max_papers]
    content = content_from_matches(found)
    if subscription.digest == Subscription.Digest.TRENDING:  # a sample of their trending digest instead
        content = trending_test_content(
            categories=subscription.trending_categories or (),
            limit=subscription.max_papers,
            start=now - timedelta(days=7),
            end=now,
        )
    local_day = now.astimezone(subscriber_zone(subscription.timezone)).date()
    delivery = Delivery.objects.create(
        subscription=subscription,
        slot=local_day,
        kind=Delivery.Kind.TEST,
        state=Delivery.State.PENDING if content else Delivery.State.SKIPPED,
        send_at=now,
        expires_at=now + timedelta(hours=1),
        to_email=subscription.user.email,
        message_id=message_id_make(),
        content=content,
        paper_count=len(content),
        last_error="" if content else "no paper of the last 7 days matched your interests",
        window_start=now - timedelta(days=7),
        window_end=now,
    )
    if content:
        on_chunks([[delivery.id]])
    return delivery
