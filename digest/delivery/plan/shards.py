"""Planning a shard: its due subscribers matched, one ``Delivery`` row each written ``PLAN_BATCH`` at a
time, each batch's chunks handed over once committed; and every due slot planned in-process."""

from __future__ import annotations

import functools
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

from digest.content import ContentEntry, ContentJson
from digest.db import Listed, in_batches
from digest.delivery.envelope import message_ids_make
from digest.delivery.pg import PlannedRow, deliveries_insert
from digest.delivery.plan.matching import ContentMaker, content_made, match_candidates
from digest.delivery.plan.memory import shard_memory
from digest.delivery.plan.runs import plan_shards, run_planning_finish, run_shard_finish
from digest.delivery.schedule import Candidate
from digest.delivery.trending import trending_merge
from digest.models import Delivery, DeliveryRun, Subscription
from digest.selectors.delivery import (
    candidates_due,
    deliveries_pending_of_run,
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


PLAN_BATCH = 1000  # rows written (and their chunks queued) per transaction while planning


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


def deliveries_plan_shard(**kwargs: Any) -> PlanResult:
    """See ``_plan_shard``; the garbage collector and ``malloc`` are set for it by ``shard_memory``."""
    with shard_memory():
        return _plan_shard(**kwargs)


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
                message_id=message_id,
                content=matches.get(c.subscription_id),
                run=run,
                now=now,
                until=until,
                start=starts[c.subscription_id],
                result=result,
            )
            for c, message_id in zip(batch, message_ids_make(count=len(batch)), strict=True)
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
            contents[sub_id] = functools.partial(content_made, encoder, make)
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
    message_id: str,
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
        "message_id": message_id,
        "content": found,
        "paper_count": len(found),
        "last_error": error,
        "planned_at": now,
        "window_start": start,
        "window_end": until,
    }
    return PlannedRow(values=values, content_json=text)
