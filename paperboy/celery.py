"""The Celery app: broker and result backend from REDIS_URL, tasks discovered in the Django apps."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperboy.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
