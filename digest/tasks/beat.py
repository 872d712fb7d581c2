"""The beat's periodic tasks: each runs services, then queues the work it found through ``digest.dispatch``.

They live apart from the tasks they queue (``digest.tasks.delivery``, ``digest.tasks.ingest``) so the
import graph stays one-way: beat -> dispatch -> tasks -> services.
"""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from digest.delivery.circuit import sending_is_paused
from digest.delivery.plan import plan_shards
from digest.delivery.prune import deliveries_prune
from digest.delivery.sweeper import deliveries_sweep
from digest.dispatch import deliveries_enqueue, feed_fetch_enqueue, plan_shards_enqueue
from digest.models import DeliveryRun
from digest.selectors.delivery import deliveries_due_ids
from digest.services.ingest.runs import feeds_due
from digest.tasks.planning import plan_shard_task


@shared_task(name="digest.plan_due_slots", ignore_result=True)
def digest_plan_task() -> int:
    """Beat, every few minutes: reconcile what lost workers left, split the subscribers whose slot
    has come into shards and queue one planning task each, and re-queue pending rows whose (retry)
    time has come. Returns the number of shards queued.

    Only the due are read (``next_due_at`` index); a shard planned by a worker that died is still
    due, so it is in the next beat's shards. The shards' own chunks are queued as each commits."""
    deliveries_sweep()
    now = timezone.now()
    shards = plan_shards(now=now)
    if shards:
        run = DeliveryRun.objects.create(slot=now.date(), note=f"planned in {len(shards)} shard(s)")
        plan_shards_enqueue(task=plan_shard_task, shards=shards, now=now, run_id=run.id)
    if not sending_is_paused():  # while paused, queued chunks wait on the pause by themselves
        deliveries_enqueue(delivery_ids=deliveries_due_ids(now=now))
    return len(shards)


@shared_task(name="digest.prune_deliveries", ignore_result=True)
def deliveries_prune_task() -> dict:
    """Beat, daily: digest rows older than PAPERBOY_DELIVERY_PRUNE_DAYS keep only what is still needed."""
    return deliveries_prune().summary()


@shared_task(name="digest.ingest_due_feeds", ignore_result=True)
def feeds_ingest_due_task() -> list[int]:
    """Beat: queue one fetch per due feed. ``only_if_due`` makes a duplicate queue entry harmless."""
    with transaction.atomic():
        due = feeds_due(now=timezone.now())
        for feed_id in due:
            feed_fetch_enqueue(feed_id=feed_id, only_if_due=True)
    return due
