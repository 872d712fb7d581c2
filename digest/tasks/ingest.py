"""Ingest tasks (thin: take ids, call one service).

Beat runs ``digest.ingest_due_feeds`` (``digest.tasks.beat``) every few minutes; it fans out one
``digest.feed_ingest`` per due feed through ``digest.dispatch``, queued once the transaction that
chose them has committed.
"""

from __future__ import annotations

from celery import shared_task

from digest.services.ingest.runs import feed_ingest


@shared_task(name="digest.feed_ingest", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def feed_ingest_task(feed_id: int, only_if_due: bool = False) -> str | None:
    """Fetch one feed; a second copy of the task for the same feed finds it claimed and does nothing."""
    run = feed_ingest(feed_id=feed_id, only_if_due=only_if_due)
    return run.status if run is not None else None
