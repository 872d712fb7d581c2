"""Planning: who is due, what they get, and one ``Delivery`` row each (the sharding and batching live here).

The due subscribers are split into shards (``plan_shards``: bounded runs of ascending ids, found
through the ``next_due_at`` index). ``deliveries_plan_shard`` plans one shard: it matches its
subscribers against the papers of their window (``PlanWindow``: the papers and their index, built
once per process and reused by every shard of the same window), writes one row each (UNIQUE
subscriber + slot, so planning twice plans nothing new), ``PLAN_BATCH`` rows per transaction, and
moves each subscriber's ``next_due_at`` to the following slot in the same transaction. The beat
queues one task per shard (any number of workers plan in parallel); ``deliveries_plan`` runs them
one after the other in-process (operators, ``make demo``, tests). Queueing the rows is the caller's
(``on_chunks``): this module imports no task.
"""

from __future__ import annotations

import functools
import gc
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from digest.content import ContentEntry, ContentJson, ContentMemo
from digest.db import Listed, in_batches
from digest.delivery.envelope import message_id_make
from digest.delivery.pg import PlannedRow, deliveries_insert
from digest.delivery.schedule import Candidate
from digest.delivery.trending import trending_merge
from digest.delivery.window import PlanWindow, plan_window
from digest.feedback.personalise import RERANK_POOL_FACTOR, content_split, digests_personalise
from digest.feedback.quiet import quiet_notes_for
from digest.library.combine import POOL_FACTOR as LIBRARY_POOL_FACTOR
from digest.library.planning import digests_with_libraries
from digest.library.selectors import subscription_ids_with_library
from digest.matching import Match, Profile, match_profiles
from digest.models import Delivery, DeliveryRun, Subscription
from digest.selectors.delivery import (
    candidates_due,
    deliveries_pending_of_run,
    interests_by_subscription,
    sent_paper_ids,
    subscriptions_due_first_shard,
    subscriptions_due_shards,
    subscriptions_with_ranker,
    window_starts,
)

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

    def add(self, other: PlanResult) -> None:
        self.run = self.run or other.run
        self.papers = max(self.papers, other.papers)
        self.planned += other.planned
        self.skipped += other.skipped
        self.expired += other.expired
        self.trending += other.trending
        self.chunks.extend(other.chunks)


# Makes one subscriber's ``Delivery.content`` and its JSON text (what the row stores).
ContentMaker = Callable[[], tuple[Sequence[ContentEntry], str]]


def _content_made(encoder: ContentJson, make: Callable[[], list[ContentEntry]]) -> tuple[Sequence[ContentEntry], str]:
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
    return _content_made(window.encoder, functools.partial(content_split, found, memo))


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
                    sub_id: functools.partial(_content_made, window.encoder, functools.partial(list, note))
                    for sub_id, note in notes.items()
                }
            )
    return results, len(paper_total)


PLAN_BATCH = 1000  # rows written (and their chunks queued) per transaction while planning


def plan_shards(
    *, now: datetime, slot: date | None = None, size: int | None = None, after: int | None = None
) -> list[tuple[int, int]]:
    """The due subscribers (with ids above ``after``, when given) split into shards: (first id, last
    id), each holding at most ``size`` (``PAPERBOY_PLAN_SHARD_SIZE``) of them. Only the due are read
    (the ``next_due_at`` index)."""
    return subscriptions_due_shards(now=now, slot=slot, size=size or settings.PAPERBOY_PLAN_SHARD_SIZE, after=after)


def plan_shard_first(*, now: datetime) -> tuple[int, int] | None:
    """The first shard of ``plan_shards`` alone (cheap however many are due): the beat queues it,
    then cuts the rest (``plan_shards(after=...)``), so the first digests do not wait for the cut."""
    return subscriptions_due_first_shard(now=now, size=settings.PAPERBOY_PLAN_SHARD_SIZE)


# In a run's ``shards_open`` while the beat is still cutting the slot into shards: no shard can then
# strike off the last one and call the run planned (no shard starts at id 0).
CUTTING = 0


def run_open_for_shards(*, now: datetime, shards: Sequence[tuple[int, int]], cutting: bool = False) -> DeliveryRun:
    """The run the beat opens for the shards it queues: planned in full once every shard is struck off.
    ``cutting``: more shards are still to come (``run_shards_add``)."""
    return DeliveryRun.objects.create(
        slot=now.date(),
        note=f"planned in {len(shards)} shard(s)",
        shards_open=[first for first, _ in shards] + ([CUTTING] if cutting else []),
    )


def run_shards_add(*, run_id: int, shards: Sequence[tuple[int, int]]) -> bool:
    """The beat has cut the rest of the slot: add ``shards`` to the run's open shards in place of
    ``CUTTING``. When none is left open (the first shard was planned meanwhile and nothing else is
    due), the run is planned now. Returns True when this call finished the run's planning."""
    with transaction.atomic():
        run = DeliveryRun.objects.select_for_update().get(id=run_id)
        run.note = f"planned in {len(shards) + 1} shard(s)"
        open_now = [s for s in run.shards_open if s != CUTTING] + [first for first, _ in shards]
        return _run_shards_save(run, shards_open=open_now, also=["note"])


def _run_shards_save(run: DeliveryRun, *, shards_open: list[int], also: Sequence[str] = ()) -> bool:
    """Save the run's open shards (and the fields in ``also``), under its row lock; with none left open,
    stamp it planned. Returns True when this call finished the run's planning."""
    run.shards_open = shards_open
    fields = ["shards_open", *also]
    finished = not shards_open and run.planning_finished_at is None
    if finished:
        run.planning_finished_at = timezone.now()
        fields.append("planning_finished_at")
    run.save(update_fields=fields)
    return finished


def deliveries_plan(
    *,
    now: datetime | None = None,
    slot: date | None = None,
    papers_until: datetime | None = None,
    on_chunks: ChunksQueue | None = None,
) -> PlanResult:
    """Plan every due slot in this process, shard after shard (operators, ``make demo``, tests; the
    beat queues the shards as tasks instead): one Delivery row per subscriber, content stored on it.

    Safe to run any number of times and from several processes at once: the UNIQUE constraint on
    (subscriber, slot) makes a second plan of the same slot a no-op.
    """
    now = now or timezone.now()
    result = PlanResult(run=None)
    for first_id, last_id in plan_shards(now=now, slot=slot):
        shard = deliveries_plan_shard(
            first_id=first_id,
            last_id=last_id,
            now=now,
            slot=slot,
            papers_until=papers_until,
            run=result.run,
            on_chunks=on_chunks,
        )
        result.add(shard)
    if result.run is not None:
        # Only now may the sweeper call the run finished (it has no open rows between two batches, too).
        run_planning_finish(run=result.run)
        result.run.refresh_from_db(fields=["planned", "trending", "papers", "planning_finished_at"])
    return result


def deliveries_plan_run_shard(
    *, run_id: int | None, first_id: int, last_id: int, now: datetime, on_chunks: ChunksQueue | None = None
) -> PlanResult:
    """One shard of a run the beat opened (``plan_shard_task``): plan it, then strike it off the run's
    open shards; the shard that strikes off the last one stamps ``planning_finished_at``. Striking off is
    by the shard's first id, so a shard planned twice (redelivered) cannot finish the run early."""
    run = DeliveryRun.objects.filter(id=run_id).first() if run_id else None
    result = deliveries_plan_shard(first_id=first_id, last_id=last_id, now=now, run=run, on_chunks=on_chunks)
    if result.run is not None:
        run_shard_finish(run_id=result.run.id, first_id=first_id)
    return result


def run_shard_finish(*, run_id: int, first_id: int) -> bool:
    """Strike shard ``first_id`` off run ``run_id``'s open shards; stamp the run planned when none is
    left. Returns True when this call finished the run's planning."""
    with transaction.atomic():
        run = DeliveryRun.objects.select_for_update().filter(id=run_id).first()
        if run is None:
            return False
        return _run_shards_save(run, shards_open=[s for s in run.shards_open if s != first_id])


def run_planning_finish(*, run: DeliveryRun) -> None:
    """Stamp a run planned in full (its last batch is written): from now on the sweeper may finish it."""
    run.planning_finished_at = timezone.now()
    DeliveryRun.objects.filter(id=run.id).update(planning_finished_at=run.planning_finished_at, shards_open=[])


def deliveries_plan_shard(**kwargs: Any) -> PlanResult:
    """See ``_plan_shard``. The cyclic garbage collector is paused meanwhile: a shard allocates
    hundreds of thousands of objects and frees few, and each collection would rescan the process's
    whole heap (the window's index and shared explanations) for nothing; the next one after the
    shard finds whatever cycles it left."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan_shard(**kwargs)
    finally:
        if enabled:
            gc.enable()


def _plan_shard(
    *,
    first_id: int,
    last_id: int,
    now: datetime,
    slot: date | None = None,
    papers_until: datetime | None = None,
    run: DeliveryRun | None = None,
    on_chunks: ChunksQueue | None = None,
) -> PlanResult:
    """Plan the due subscribers with ids ``first_id``..``last_id``: match them against their window,
    write their rows ``PLAN_BATCH`` at a time, and hand each batch's chunks to ``on_chunks`` as soon
    as it is committed, so workers send the first digests while the rest are still being planned.

    Each batch also moves its subscribers' ``next_due_at`` to their next slot, in the same
    transaction: a planner that dies half way leaves whole batches behind, and the rest of the shard
    is still due, so the next beat plans it. Without a ``run``, one is made when there is something
    to plan (the beat passes the run it opened for the slot).
    """
    until = min(papers_until or now, now)  # an operator re-running a past date stops at that day's end
    check = candidates_due(now=now, slot=slot, first_id=first_id, last_id=last_id)
    if slot is None:
        subscriptions_reschedule(due_at=check.rescheduled)
    candidates = check.candidates
    if not candidates:
        return PlanResult(run=run)
    starts = window_starts(candidates=candidates, now=until)
    matches, paper_count = match_candidates(candidates=candidates, starts=starts, now=until)
    trending_ids = _trending_merge(candidates=candidates, starts=starts, until=until, contents=matches)

    if run is None:
        run = DeliveryRun.objects.create(slot=slot or min(c.slot for c in candidates), papers=paper_count)
    else:
        DeliveryRun.objects.filter(id=run.id).update(papers=Greatest(F("papers"), paper_count))
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
            inserted = deliveries_insert(rows=rows)
            if slot is None:
                subscriptions_reschedule(due_at={c.subscription_id: c.next_due_at for c in batch if c.next_due_at})
            if inserted is None:  # the database did not say which rows are new (SQLite): ask it
                ids = [c.subscription_id for c in batch]
                pending = deliveries_pending_of_run(run_id=run.id, subscription_ids=ids)
                written = Delivery.objects.filter(run=run, subscription_id__in=ids).count()
            else:  # what this planner wrote; a row another planner got to first is theirs to queue
                pending = sorted(i for i, state in inserted if state == Delivery.State.PENDING)
                written = len(inserted)
            # Of those, the trending subscribers' digests (this planner's rows only: a subscriber another
            # planner took is not counted twice).
            trending_batch = [c.subscription_id for c in batch if c.subscription_id in trending_ids]
            trending = 0
            if trending_batch and inserted is None:
                trending = Delivery.objects.filter(run=run, subscription_id__in=trending_batch).count()
            elif trending_batch and inserted:
                mine = [i for i, _ in inserted]
                trending = Delivery.objects.filter(
                    id__any=Listed(mine), subscription_id__any=Listed(trending_batch)
                ).count()
            # Kept current batch by batch (shards of one run add theirs): the runs dashboard shows a
            # slot being planned, and a planner that dies half way leaves a run whose count matches its rows.
            result.planned += written
            result.trending += trending
            DeliveryRun.objects.filter(id=run.id).update(
                planned=F("planned") + written, trending=F("trending") + trending
            )
        chunks = [list(chunk) for chunk in in_batches(pending, settings.PAPERBOY_CHUNK_SIZE)]
        result.chunks.extend(chunks)
        if on_chunks is not None and chunks:
            on_chunks(chunks)
    return result


def _trending_merge(
    *, candidates: Sequence[Candidate], starts: dict[int, datetime], until: datetime, contents: dict[int, ContentMaker]
) -> set[int]:
    """``trending_merge`` (issue 19) over this module's content makers, which also give the row's JSON
    text: it sees makers of the entries alone, and each maker it replaces (a trending subscriber's list)
    or wraps (a keyword digest's "Trending today" section) gets its JSON from one encoder per shard.
    ``contents`` is updated in place; returns the trending subscribers' ids."""
    entries: dict[int, Callable[[], list[ContentEntry]]] = {
        sub_id: functools.partial(_entries_only, make) for sub_id, make in contents.items()
    }
    before = dict(entries)
    trending_ids = trending_merge(candidates=candidates, starts=starts, until=until, contents=entries)
    encoder = ContentJson()
    for sub_id in [s for s in contents if s not in entries]:
        del contents[sub_id]  # a trending subscriber with nothing new on their list
    for sub_id, make in entries.items():
        if before.get(sub_id) is not make:
            contents[sub_id] = functools.partial(_content_made, encoder, make)
    return trending_ids


def _entries_only(make: ContentMaker) -> list[ContentEntry]:
    return list(make()[0])


def subscriptions_reschedule(*, due_at: dict[int, datetime]) -> None:
    """Write each subscription's next due time; one UPDATE per distinct time (a slot's subscribers
    mostly share one: same zone, same hour)."""
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for sub_id, when in due_at.items():
        by_time[when].append(sub_id)
    for when, ids in by_time.items():
        for batch in in_batches(ids):
            Subscription.objects.filter(id__any=Listed(batch)).update(next_due_at=when)


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
) -> PlannedRow:
    found: Sequence[ContentEntry] = []
    text = "[]"
    if now >= c.expires_at:  # its content is not worked out: it will never be sent
        state, error = Delivery.State.EXPIRED, "send window passed"
        result.expired += 1
    elif content is not None:
        state, error = Delivery.State.PENDING, ""
        found, text = content()
    else:
        state, error = Delivery.State.SKIPPED, "no paper matched this subscriber's interests"
        result.skipped += 1
    # Plain values, not a Delivery: a model instance costs more to make than the rest of the row.
    values = {
        "subscription_id": c.subscription_id,
        "run_id": run.id,
        "slot": c.slot,
        "kind": Delivery.Kind.DIGEST.value,
        "state": state.value,
        "send_at": c.send_at,
        "expires_at": c.expires_at,
        "to_email": c.email,
        "message_id": message_id_make(),
        "content": found,
        "paper_count": len(found),
        "last_error": error,
        "planned_at": now,
        "window_start": start,
        "window_end": until,
    }
    return PlannedRow(values=values, content_json=text)
