"""Celery tasks, one module per concern; importing them here lets autodiscovery find them all."""

from digest.feedback import tasks as feedback_tasks  # noqa: F401
from digest.tasks import delivery, ingest  # noqa: F401
