"""Planning: batches of rows, each batch's chunks handed over once committed."""

from __future__ import annotations

import pytest

from digest.delivery.plan import deliveries_plan
from digest.models import Delivery, DeliveryRun
from tests.delivery.conftest import readers_due

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_planning_hands_over_each_batch_of_chunks_as_soon_as_it_is_committed(monkeypatch, settings):
    from django.db import connection

    from digest.delivery import plan as delivery_plan

    monkeypatch.setattr(delivery_plan, "PLAN_BATCH", 2)
    settings.PAPERBOY_CHUNK_SIZE = 1
    readers = readers_due(5, prefix="batch")
    handed: list[list[list[int]]] = []

    def on_chunks(chunks: list[list[int]]) -> None:
        assert not connection.in_atomic_block, "the batch is committed before its chunks are queued"
        ids = [i for chunk in chunks for i in chunk]
        assert Delivery.objects.filter(id__in=ids, state=Delivery.State.PENDING).count() == len(ids)
        (run,) = DeliveryRun.objects.all()
        assert run.planned == Delivery.objects.count(), "the run's count follows its batches"
        handed.append(chunks)

    plan = deliveries_plan(on_chunks=on_chunks)

    # The first batch is one chunk (the workers start at once), then PLAN_BATCH rows at a time.
    assert [len(chunks) for chunks in handed] == [1, 2, 2]
    assert [i for chunks in handed for chunk in chunks for i in chunk] == [i for chunk in plan.chunks for i in chunk]
    assert plan.planned == 5 == len(readers)
    again = deliveries_plan(on_chunks=on_chunks)
    assert again.run is None and len(handed) == 3, "a second plan of the same slot plans nothing new"
