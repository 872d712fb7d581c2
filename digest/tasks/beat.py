"""The beat's periodic tasks: each runs services, then queues the work it found through ``digest.dispatch``.

They live apart from the tasks they queue (``digest.tasks.delivery``, ``digest.tasks.ingest``) so the
import graph stays one-way: beat -> dispatch -> tasks -> services.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from digest.delivery.circuit import sending_is_paused
from digest.delivery.plan import plan_shard_first, plan_shards, run_open_for_shards, run_shards_add
from digest.delivery.prune import deliveries_prune
from digest.delivery.sweeper import deliveries_sweep
from digest.dispatch import broker_queue_empty, deliveries_enqueue, feed_fetch_enqueue, plan_shards_enqueue
from digest.selectors.delivery import deliveries_due_ids
from digest.selectors.trending import UPVOTE_FEED_KINDS
from digest.services.ingest.runs import feeds_due, feeds_refresh_stale
from digest.tasks.planning import plan_shard_task


# The beat's tasks are acknowledged when they start (acks_late=False, against the project's default): losing
# one costs nothing, the next comes within minutes, and a running beat task must not count as work in flight
# when broker_queue_empty looks for lost chunks.
@shared_task(name="digest.plan_due_slots", ignore_result=True, acks_late=False)
def digest_plan_task() -> int:
    """Beat, every few minutes: reconcile what lost workers left, split the subscribers whose slot
    has come into shards and queue one planning task each, and re-queue pending rows whose (retry)
    time has come. Returns the number of shards queued.

    Only the due are read (``next_due_at`` index); a shard planned by a worker that died is still
    due, so it is in the next beat's shards. The shards' own chunks are queued as each commits."""
    deliveries_sweep()
    now = timezone.now()
    # Trending lists rank by upvotes: a slot is never planned on figures older than their feed's cadence.
    feeds_refresh_stale(now=now, kinds=UPVOTE_FEED_KINDS)
    shards = _plan_shards_enqueue(now=now)
    if sending_is_paused():
        return len(shards)  # the queued chunks wait on the pause by themselves
    # Nothing being planned, nothing queued and nothing in flight: a pending row's chunk was lost, so it
    # is found after PAPERBOY_LOST_CHUNK_SECONDS rather than PAPERBOY_REQUEUE_AFTER_SECONDS (docs/DELIVERY.md).
    idle = not shards and broker_queue_empty()
    deliveries_enqueue(delivery_ids=deliveries_due_ids(now=now, queue_empty=idle))
    return len(shards)


def _plan_shards_enqueue(*, now: datetime) -> list[tuple[int, int]]:
    """Queue the due subscribers' shards, the first one before the rest are cut: cutting a million due
    rows into shards takes seconds, and the first digests should not wait for it. The run stays open
    (``CUTTING``) until the rest are added, so the first shard cannot call it planned on its own."""
    first = plan_shard_first(now=now)
    if first is None:
        return []
    run = run_open_for_shards(now=now, shards=[first], cutting=True)
    plan_shards_enqueue(task=plan_shard_task, shards=[first], now=now, run_id=run.id)
    rest = plan_shards(now=now, after=first[1])
    run_shards_add(run_id=run.id, shards=rest)
    plan_shards_enqueue(task=plan_shard_task, shards=rest, now=now, run_id=run.id)
    return [first, *rest]


@shared_task(name="digest.prune_deliveries", ignore_result=True)
def deliveries_prune_task() -> dict:
    """Beat, daily: digest rows older than PAPERBOY_DELIVERY_PRUNE_DAYS keep only what is still needed."""
    return deliveries_prune().summary()


@shared_task(name="digest.requeue_lost_chunks", ignore_result=True, acks_late=False)
def deliveries_requeue_lost_task() -> int:
    """Beat, every minute: when the broker holds nothing at all, pending rows older than
    PAPERBOY_LOST_CHUNK_SECONDS belong to a lost chunk (a broker restart); queue them again. With work
    still queued this does nothing (the 5-minute planner requeues after PAPERBOY_REQUEUE_AFTER_SECONDS),
    so a busy queue is never doubled."""
    if sending_is_paused() or not broker_queue_empty():
        return 0
    due = deliveries_due_ids(queue_empty=True)
    deliveries_enqueue(delivery_ids=due)
    return len(due)


@shared_task(name="digest.ingest_due_feeds", ignore_result=True)
def feeds_ingest_due_task() -> list[int]:
    """Beat: queue one fetch per due feed. ``only_if_due`` makes a duplicate queue entry harmless."""
    with transaction.atomic():
        due = feeds_due(now=timezone.now())
        for feed_id in due:
            feed_fetch_enqueue(feed_id=feed_id, only_if_due=True)
    return due
