"""The one place that queues Celery tasks: in chunks of ``PAPERBOY_CHUNK_SIZE``, once committed.

Services call these (or are handed ``chunks_enqueue`` as ``on_chunks=``, like the planner) and
never import a task; this module imports the task modules, which import services, so nothing a
task runs may import this module (the import-graph test checks it). The beat's own tasks, which
queue other tasks, live in ``digest.tasks.beat`` above this module.

``transaction.on_commit`` runs the callback at once outside a transaction, and after the commit
inside one: a worker never gets an id whose row it cannot see yet.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime

from celery import Task
from django.conf import settings
from django.db import transaction

from digest.db import in_batches
from digest.delivery.shared_redis import redis_client
from digest.tasks.delivery import deliveries_send_chunk_task
from digest.tasks.ingest import feed_ingest_task

logger = logging.getLogger(__name__)


def chunks_enqueue(chunks: Sequence[Sequence[int]]) -> None:
    """Queue one send task per chunk of delivery ids once the rows they name are committed."""
    for chunk in chunks:
        ids: list[int] = list(chunk)
        transaction.on_commit(functools.partial(deliveries_send_chunk_task.delay, ids))


def plan_shards_enqueue(*, task: Task, shards: Sequence[tuple[int, int]], now: datetime, run_id: int) -> None:
    """Queue one planning task per shard (on the ``planning`` queue), once committed.

    The task is passed in (``digest.tasks.planning.plan_shard_task``, by the beat): it queues its
    chunks through this module, so importing it here would close a cycle."""
    for first_id, last_id in shards:
        transaction.on_commit(functools.partial(task.delay, first_id, last_id, now.isoformat(), run_id))


def deliveries_enqueue(*, delivery_ids: Sequence[int]) -> None:
    """Hand rows to the delivery workers in chunks of ``PAPERBOY_CHUNK_SIZE`` once committed."""
    chunks_enqueue(list(in_batches(list(delivery_ids), settings.PAPERBOY_CHUNK_SIZE)))


def broker_queue_empty() -> bool:
    """True when the broker holds no task at all: none waiting in any queue and none handed to a worker
    and not yet acknowledged (running, prefetched, or waiting for its countdown). Only the Redis broker
    can tell; with any other, or when Redis does not answer, this says False (the safe answer: lost
    chunks are then found after PAPERBOY_REQUEUE_AFTER_SECONDS as before)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return False
    # Every queue: sending's chunks, planning's shards (a shard being planned queues chunks yet to come).
    queues = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"), *getattr(settings, "CELERY_TASK_QUEUES", {})}
    try:
        client = redis_client(url)
        pipe = client.pipeline()
        for queue in sorted(queues):
            pipe.llen(queue)
        pipe.hlen("unacked")  # kombu's Redis transport keeps every delivered, unacknowledged message here
        counts = pipe.execute()
    except Exception:
        logger.warning("could not read the broker's queue length; lost chunks wait for the long requeue", exc_info=True)
        return False
    return not any(counts)


def feed_fetch_enqueue(*, feed_id: int, only_if_due: bool = False) -> None:
    """Queue a fetch of one feed once committed (``only_if_due`` makes a duplicate queue entry harmless)."""
    if only_if_due:
        transaction.on_commit(lambda: feed_ingest_task.delay(feed_id, only_if_due=True))
    else:
        transaction.on_commit(lambda: feed_ingest_task.delay(feed_id))
