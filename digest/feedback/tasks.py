"""Retraining learned rankers: batched, on a beat, never in a request."""

from __future__ import annotations

from celery import shared_task

from digest.feedback import personalise

# Subscribers retrained per run; the rest wait for the next run (oldest models go first).
BATCH = 500


@shared_task(name="digest.feedback_retrain_rankers", ignore_result=True)
def rankers_retrain_task(limit: int = BATCH) -> int:
    """Beat, e.g. every 30 minutes: retrain the subscribers who gave new like/dislike feedback."""
    return personalise.rankers_retrain_due(limit=limit)
