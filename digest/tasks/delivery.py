"""Delivery tasks: thin wrappers that take ids, call one service, and decide retry or failure.

Queued through ``digest.dispatch``; the beat's planning task is in ``digest.tasks.beat``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from digest.delivery.send import deliveries_send
from digest.selectors.delivery import deliveries_pending_ids

logger = logging.getLogger(__name__)


@shared_task(name="digest.send_chunk", bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliveries_send_chunk_task(self, delivery_ids: list[int]) -> dict:
    result = deliveries_send(delivery_ids=delivery_ids)
    if self.request.is_eager:
        pass  # in-process (make demo, tests): a countdown would run at once; the beat picks the rows up
    elif result.paused:
        # Paused by an admin or the circuit breaker: the rows not reached wait and check again (a retry
        # of this task, so it is queued here rather than through digest.dispatch).
        waiting = deliveries_pending_ids(delivery_ids=delivery_ids)
        if waiting:
            deliveries_send_chunk_task.apply_async(args=(waiting,), countdown=settings.PAPERBOY_PAUSE_RECHECK_SECONDS)
    elif result.retry and result.retry_in_seconds <= settings.PAPERBOY_RETRY_INLINE_MAX_SECONDS:
        # Only the rows that failed transiently go again, after their backoff. Longer backoffs are
        # left to the beat's dispatcher, so no countdown outlives the broker's visibility timeout.
        deliveries_send_chunk_task.apply_async(args=(result.retry,), countdown=result.retry_in_seconds)
    summary = result.summary()
    logger.info("chunk of %s: %s", len(delivery_ids), summary)
    return summary
