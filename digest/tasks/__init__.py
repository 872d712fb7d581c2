"""Celery tasks, one module per concern; importing them here lets autodiscovery find them all."""

from digest.tasks import delivery, ingest  # noqa: F401
