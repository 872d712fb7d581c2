"""Ingest tasks (thin: take ids, call one service).

Beat runs ``digest.ingest_due_feeds`` (``digest.tasks.beat``) every few minutes; it fans out one
``digest.feed_ingest`` per due feed through ``digest.dispatch``, queued once the transaction that
chose them has committed.
"""

from __future__ import annotations

from celery import shared_task

from digest.services.ingest.runs import feed_ingest

# Every request has its own wall-clock deadline (digest/ingest/connections.py); this bounds a whole run
# (pages x retries) as a last resort, so one hostile feed can never keep a worker that also sends digests.
FEED_RUN_SOFT_LIMIT_SECONDS = 20 * 60


@shared_task(
    name="digest.feed_ingest",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=FEED_RUN_SOFT_LIMIT_SECONDS,
    time_limit=FEED_RUN_SOFT_LIMIT_SECONDS + 60,
)
def feed_ingest_task(feed_id: int, only_if_due: bool = False) -> str | None:
    """Fetch one feed; a second copy of the task for the same feed finds it claimed and does nothing."""
    run = feed_ingest(feed_id=feed_id, only_if_due=only_if_due)
    return run.status if run is not None else None
