"""Delivery tasks: thin wrappers that take ids, call one service, and decide retry or failure."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction

from digest.services import circuit as circuit_services
from digest.services import delivery as delivery_services
from digest.services import sweeper as sweeper_services

logger = logging.getLogger(__name__)


def chunks_enqueue(chunks: list[list[int]]) -> None:
    """Queue one send task per chunk once the rows they name are committed."""
    for chunk in chunks:
        transaction.on_commit(lambda chunk=chunk: deliveries_send_chunk_task.delay(chunk))


@shared_task(name="digest.plan_due_slots", ignore_result=True)
def digest_plan_task() -> int:
    """Beat, every few minutes: reconcile what lost workers left, plan the slots whose local send
    hour has come, fan out chunks, and re-queue pending rows whose (retry) time has come."""
    sweeper_services.deliveries_sweep()
    # Planning commits batch by batch and queues each batch's chunks once it is committed, so the
    # workers start sending while the rest of the slot is still being planned.
    result = delivery_services.deliveries_plan(on_chunks=chunks_enqueue)
    if circuit_services.sending_is_paused():
        return result.planned  # the queued chunks wait on the pause by themselves
    due = delivery_services.deliveries_due_ids()
    planned = {i for chunk in result.chunks for i in chunk}
    leftover = [i for i in due if i not in planned]
    size = settings.PAPERBOY_CHUNK_SIZE
    for start in range(0, len(leftover), size):
        deliveries_send_chunk_task.delay(leftover[start : start + size])
    return result.planned


@shared_task(name="digest.send_chunk", bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliveries_send_chunk_task(self, delivery_ids: list[int]) -> dict:
    result = delivery_services.deliveries_send(delivery_ids=delivery_ids)
    if self.request.is_eager:
        pass  # in-process (make demo, tests): a countdown would run at once; the beat picks the rows up
    elif result.paused:
        # Paused by an admin or the circuit breaker: the rows not reached wait and check again.
        waiting = delivery_services.deliveries_pending_ids(delivery_ids=delivery_ids)
        if waiting:
            deliveries_send_chunk_task.apply_async(args=[waiting], countdown=settings.PAPERBOY_PAUSE_RECHECK_SECONDS)
    elif result.retry and result.retry_in_seconds <= settings.PAPERBOY_RETRY_INLINE_MAX_SECONDS:
        # Only the rows that failed transiently go again, after their backoff. Longer backoffs are
        # left to the beat's dispatcher, so no countdown outlives the broker's visibility timeout.
        deliveries_send_chunk_task.apply_async(args=[result.retry], countdown=result.retry_in_seconds)
    summary = result.summary()
    logger.info("chunk of %s: %s", len(delivery_ids), summary)
    return summary


# The name the admin's "retry failed" action looks for.
deliveries_send_task = deliveries_send_chunk_task
