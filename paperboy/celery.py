"""The Celery app: broker and result backend from REDIS_URL, tasks discovered in the Django apps."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperboy.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every task module, imported when a worker starts (digest/tasks/__init__.py imports none of them).
app.conf.imports = (
    "digest.tasks.beat",
    "digest.tasks.delivery",
    "digest.tasks.planning",
    "digest.tasks.ingest",
    "digest.feedback.tasks",
)

# Feeds are fetched on their own cadence; slots are planned every few minutes because each
# subscriber's send hour is in their own time zone (a slot opens somewhere every 15-60 minutes).
app.conf.beat_schedule = {
    "ingest-due-feeds": {"task": "digest.ingest_due_feeds", "schedule": crontab(minute="*/10")},
    "plan-due-slots": {"task": "digest.plan_due_slots", "schedule": crontab(minute="*/5")},
    # Account emails whose queued retry was lost (restarted broker) go out within a minute of being due.
    "send-due-account-emails": {"task": "accounts.account_emails_send_due", "schedule": crontab(minute="*")},
    # Chunks lost with the broker are queued again within minutes (docs/DELIVERY.md, "Lost chunks").
    "requeue-lost-chunks": {"task": "digest.requeue_lost_chunks", "schedule": crontab(minute="*")},
    # Old digest rows keep only what is still needed (PAPERBOY_DELIVERY_PRUNE_DAYS).
    "prune-deliveries": {"task": "digest.prune_deliveries", "schedule": crontab(hour=3, minute=17)},
    # Learned rankers are retrained in batches, never in a request.
    "retrain-rankers": {"task": "digest.feedback_retrain_rankers", "schedule": crontab(minute="*/30")},
}
