"""The planning task: one shard of a slot, queued by the beat (``digest.tasks.beat``) on the
``planning`` queue, so planning never holds the processes that send.

It sits above ``digest.dispatch`` (it queues its chunks there), so ``dispatch`` is handed this task
instead of importing it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task

from digest.delivery.plan import deliveries_plan_run_shard
from digest.dispatch import chunks_enqueue

logger = logging.getLogger(__name__)


@shared_task(name="digest.plan_shard", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def plan_shard_task(first_id: int, last_id: int, now: str, run_id: int | None = None) -> int:
    """Plan subscribers ``first_id``..``last_id`` due at ``now``. Redelivered if the worker dies
    (and whatever is left is still due at the next beat); planning twice plans nothing twice."""
    result = deliveries_plan_run_shard(
        run_id=run_id, first_id=first_id, last_id=last_id, now=datetime.fromisoformat(now), on_chunks=chunks_enqueue
    )
    logger.info("planned shard %s..%s: %s rows, %s chunks", first_id, last_id, result.planned, len(result.chunks))
    return result.planned
