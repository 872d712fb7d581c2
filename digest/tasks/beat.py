"""The beat's periodic tasks: each runs services, then queues the work it found through ``digest.dispatch``.

They live apart from the tasks they queue (``digest.tasks.delivery``, ``digest.tasks.ingest``) so the
import graph stays one-way: beat -> dispatch -> tasks -> services.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from digest.delivery.circuit import sending_is_paused
from digest.delivery.plan import deliveries_plan
from digest.delivery.sweeper import deliveries_sweep
from digest.dispatch import broker_queue_empty, chunks_enqueue, deliveries_enqueue, feed_fetch_enqueue
from digest.selectors.delivery import deliveries_due_ids
from digest.selectors.trending import UPVOTE_FEED_KINDS
from digest.services.ingest.runs import feeds_due, feeds_refresh_stale


# The beat's tasks are acknowledged when they start (acks_late=False, against the project's default): losing
# one costs nothing, the next comes within minutes, and a running beat task must not count as work in flight
# when broker_queue_empty looks for lost chunks.
@shared_task(name="digest.plan_due_slots", ignore_result=True, acks_late=False)
def digest_plan_task() -> int:
    """Beat, every few minutes: reconcile what lost workers left, plan the slots whose local send
    hour has come, fan out chunks, and re-queue pending rows whose (retry) time has come."""
    deliveries_sweep()
    # Trending lists rank by upvotes: a slot is never planned on figures older than their feed's cadence.
    feeds_refresh_stale(now=timezone.now(), kinds=UPVOTE_FEED_KINDS)
    # Planning commits batch by batch and queues each batch's chunks once it is committed, so the
    # workers start sending while the rest of the slot is still being planned.
    result = deliveries_plan(on_chunks=chunks_enqueue)
    if sending_is_paused():
        return result.planned  # the queued chunks wait on the pause by themselves
    planned = {i for chunk in result.chunks for i in chunk}
    # Nothing queued and nothing in flight: a pending row's chunk was lost, so it is found after
    # PAPERBOY_LOST_CHUNK_SECONDS rather than PAPERBOY_REQUEUE_AFTER_SECONDS (docs/DELIVERY.md).
    idle = not planned and broker_queue_empty()
    deliveries_enqueue(delivery_ids=[i for i in deliveries_due_ids(queue_empty=idle) if i not in planned])
    return result.planned


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
