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


def test_a_sharded_run_is_planned_in_full_only_when_its_last_shard_is(settings):
    from digest.delivery.plan import deliveries_plan_run_shard, plan_shards, run_open_for_shards

    settings.PAPERBOY_PLAN_SHARD_SIZE = 2
    readers_due(5, prefix="sharded")
    now = timezone.now()
    shards = plan_shards(now=now)
    run = run_open_for_shards(now=now, shards=shards)
    (first, last), *others = shards

    deliveries_plan_run_shard(run_id=run.id, first_id=first, last_id=last, now=now)
    Delivery.objects.update(state=Delivery.State.SENT)  # the first shard's rows all went out already
    run.refresh_from_db()
    assert run.planning_finished_at is None and deliveries_sweep().runs_finished == 0

    # The first shard redelivered (its worker died before acknowledging): it cannot finish the run early.
    deliveries_plan_run_shard(run_id=run.id, first_id=first, last_id=last, now=now)
    run.refresh_from_db()
    assert run.planning_finished_at is None and len(run.shards_open) == len(others)

    for first_id, last_id in others:
        deliveries_plan_run_shard(run_id=run.id, first_id=first_id, last_id=last_id, now=now)
    run.refresh_from_db()
    assert run.planning_finished_at is not None and run.shards_open == [] and run.planned == 5
    Delivery.objects.update(state=Delivery.State.SENT)
    assert deliveries_sweep().runs_finished == 1


def test_the_beat_queues_shards_and_requeues_nothing_early_while_they_are_planned(monkeypatch, settings):
    from digest.tasks import beat

    settings.PAPERBOY_PLAN_SHARD_SIZE = 2
    readers_due(3, prefix="beat")
    queued, asked = [], []
    monkeypatch.setattr(beat, "plan_shards_enqueue", lambda **kw: queued.append(kw["shards"]))
    monkeypatch.setattr(beat, "broker_queue_empty", lambda: asked.append(1) or True)

    assert beat.digest_plan_task() == 2
    run = DeliveryRun.objects.get()
    # The first shard is queued on its own, before the rest are cut (issue 18: the first digests wait for no cut).
    assert [len(shards) for shards in queued] == [1, 1]
    assert run.shards_open == [first for shards in queued for first, _ in shards]
    assert run.planning_finished_at is None
    assert asked == [], "shards just queued: the broker is not idle, lost chunks wait for the long requeue"


@pytest.mark.redis
def test_the_broker_is_not_empty_while_the_sending_or_planning_queue_holds_a_task(redis_url, settings):
    import redis

    from digest.dispatch import broker_queue_empty

    settings.CELERY_BROKER_URL = redis_url
    client = redis.Redis.from_url(redis_url)
    client.delete("celery", "sending", "planning", "unacked")
    assert broker_queue_empty()
    for queue in ("sending", "planning"):
        client.rpush(queue, b"{}")
        assert not broker_queue_empty(), queue
        client.delete(queue)
    assert broker_queue_empty()
