"""Work that nobody is doing: chunks lost with the broker, and runs the sweeper must not call finished
while they are still being planned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from digest.delivery.plan import deliveries_plan
from digest.delivery.sweeper import deliveries_sweep
from digest.models import Delivery, DeliveryRun
from digest.selectors.delivery import deliveries_due_ids
from tests.delivery.conftest import readers_due

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_run_whose_rows_are_all_sent_between_two_planning_batches_is_not_finished(settings):
    readers_due(2)
    run = deliveries_plan().run
    # As it was between two batches: the rows so far all sent, the planner not done yet.
    DeliveryRun.objects.filter(id=run.id).update(planning_finished_at=None)
    Delivery.objects.update(state=Delivery.State.SENT)

    assert deliveries_sweep().runs_finished == 0
    run.refresh_from_db()
    assert run.finished_at is None

    DeliveryRun.objects.filter(id=run.id).update(planning_finished_at=timezone.now())
    assert deliveries_sweep().runs_finished == 1


def test_a_run_whose_planner_died_long_ago_is_finished_once_its_rows_are(settings):
    readers_due(1)
    run = deliveries_plan().run
    DeliveryRun.objects.filter(id=run.id).update(planning_finished_at=None)
    Delivery.objects.update(state=Delivery.State.SENT)
    assert deliveries_sweep(now=timezone.now() + timedelta(minutes=30)).runs_finished == 0
    assert deliveries_sweep(now=timezone.now() + timedelta(hours=2)).runs_finished == 1


def test_the_planner_marks_its_run_planned_in_full():
    readers_due(3)
    run = deliveries_plan().run
    run.refresh_from_db()
    assert run.planning_finished_at is not None and run.planned == 3


def test_pending_rows_of_a_lost_chunk_are_found_within_the_lost_chunk_bound_when_the_queue_is_empty(settings):
    settings.PAPERBOY_REQUEUE_AFTER_SECONDS = 900
    settings.PAPERBOY_LOST_CHUNK_SECONDS = 90
    with time_machine.travel(NOON, tick=False):
        readers_due(2)
        deliveries_plan()  # its chunks were queued, then lost with the broker
    ids = sorted(Delivery.objects.values_list("id", flat=True))
    assert len(ids) == 2
    two_minutes_later = NOON + timedelta(minutes=2)
    # With chunks still queued, a 2-minute-old pending row may just be waiting its turn.
    assert deliveries_due_ids(now=two_minutes_later, queue_empty=False) == []
    # With nothing queued and nothing in flight, it can only belong to a lost chunk.
    assert deliveries_due_ids(now=two_minutes_later, queue_empty=True) == ids
    assert deliveries_due_ids(now=NOON + timedelta(seconds=60), queue_empty=True) == []


@pytest.mark.redis
def test_the_broker_is_empty_only_with_nothing_queued_and_nothing_unacknowledged(redis_url, settings):
    import redis

    from digest.dispatch import broker_queue_empty

    settings.CELERY_BROKER_URL = redis_url
    client = redis.Redis.from_url(redis_url)
    client.delete("celery", "unacked")
    assert broker_queue_empty()
    client.rpush("celery", b"{}")
    assert not broker_queue_empty()
    client.delete("celery")
    client.hset("unacked", "tag", b"{}")  # a task a worker holds (running, prefetched or counting down)
    assert not broker_queue_empty()
    client.delete("unacked")
    settings.CELERY_BROKER_URL = "memory://"
    assert not broker_queue_empty()  # a broker it cannot see into: never "empty"
