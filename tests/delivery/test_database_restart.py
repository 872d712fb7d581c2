"""A database restart in the middle of a send costs no duplicate: a worker holding a message the relay
accepted retries recording it until the database is back, instead of leaving the row in ``sending``
for the sweeper to send again.

The restart is a TCP proxy between the worker and PostgreSQL that cuts every connection and refuses
new ones for a few seconds (the shared PostgreSQL server itself is never restarted)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from digest.delivery.plan import deliveries_plan
from digest.delivery.sweeper import deliveries_sweep
from digest.models import Delivery
from tests.conftest import database_url_for_subprocess
from tests.delivery.conftest import readers_due, wait_until, worker_env
from tests.delivery.dbproxy import DatabaseProxy
from tests.delivery.test_faults import assert_exactly_once, queue_chunks, states

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_a_database_restart_right_after_the_relays_250_costs_no_duplicate(
    postgres_db, scripted_smtp, celery_worker_process, settings
):
    from digest.tasks.beat import digest_plan_task

    cfg = connection.settings_dict
    proxy = DatabaseProxy(upstream=(cfg["HOST"] or "127.0.0.1", int(cfg["PORT"] or 5432))).start()
    readers = readers_due(18)
    scripted_smtp.delay_seconds = 0.02
    # The 6th message is accepted while the worker's database connections are being cut: its "sent"
    # cannot be committed until the database is back, 2 s later.
    scripted_smtp.on_accept = lambda n: proxy.cut_now_and_return_after(down_seconds=2.0) if n == 6 else None
    url = database_url_for_subprocess().replace(f":{cfg['PORT'] or 5432}/", f":{proxy.port}/")
    settings.PAPERBOY_CHUNK_SIZE = 6
    worker = celery_worker_process(
        env=worker_env(scripted_smtp, DATABASE_URL=url, PAPERBOY_CHUNK_SIZE="6", PAPERBOY_SMTP_CONNECTIONS="1")
    )
    try:
        plan = deliveries_plan()
        queue_chunks(plan.chunks)
        wait_until(
            lambda: len(scripted_smtp.accepted) >= 18 and not states().keys() - {"sent"},
            timeout=60,
            what="every digest accepted and recorded",
            worker=worker,
            state=lambda: f"{len(scripted_smtp.accepted)} accepted, rows {dict(states())}",
        )
        # Long after: a sweeper that finds a row left in "sending" would send it again now.
        assert deliveries_sweep(now=timezone.now() + timedelta(hours=1)).resent == 0
        digest_plan_task()
        time.sleep(1)
    finally:
        worker.stop()
        proxy.stop()

    assert proxy.restarts == 1
    assert states() == Counter({"sent": 18})
    assert_exactly_once(scripted_smtp, readers)
    assert "database unavailable while recording" in worker.output()
    assert Delivery.objects.filter(state=Delivery.State.SENT, attempts=1).count() == 18
