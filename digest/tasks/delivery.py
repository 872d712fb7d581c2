"""Delivery tasks: thin wrappers that take ids, call one service, and decide retry or failure."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from digest.services import delivery as delivery_services

logger = logging.getLogger(__name__)


def chunks_enqueue(chunks: list[list[int]]) -> None:
    """Queue one send task per chunk once the rows they name are committed."""
    for chunk in chunks:
        transaction.on_commit(lambda chunk=chunk: deliveries_send_chunk_task.delay(chunk))


@shared_task(name="digest.plan_due_slots", ignore_result=True)
def digest_plan_task() -> int:
    """Beat, every few minutes: plan the slots whose local send hour has come, fan out chunks,
    and re-queue pending rows whose retry time has come."""
    with transaction.atomic():
        result = delivery_services.deliveries_plan()
        chunks_enqueue(result.chunks)
    due = delivery_services.deliveries_due_ids()
    planned = {i for chunk in result.chunks for i in chunk}
    leftover = [i for i in due if i not in planned]
    size = max(1, len(result.chunks[0]) if result.chunks else 200)
    for start in range(0, len(leftover), size):
        deliveries_send_chunk_task.delay(leftover[start : start + size])
    return result.planned


@shared_task(name="digest.send_chunk", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliveries_send_chunk_task(delivery_ids: list[int]) -> dict:
    result = delivery_services.deliveries_send(delivery_ids=delivery_ids)
    if result.retry:
        # Only the rows that failed transiently go again, after their backoff.
        deliveries_send_chunk_task.apply_async(args=[result.retry], countdown=result.retry_in_seconds)
    return {"sent": result.sent, "failed": result.failed, "retry": len(result.retry), "paused": result.paused}
