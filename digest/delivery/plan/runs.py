"""A slot's run and its shards: cutting the due subscribers into shards, opening the run the beat
queues them under, and striking each shard off as it is planned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from digest.models import DeliveryRun
from digest.selectors.delivery import (
    subscriptions_due_first_shard,
    subscriptions_due_shards,
)


def plan_shards(
    *, now: datetime, slot: date | None = None, size: int | None = None, after: int | None = None
) -> list[tuple[int, int]]:
    """The due subscribers (with ids above ``after``, when given) split into shards: (first id, last
    id), each holding at most ``size`` (``PAPERBOY_PLAN_SHARD_SIZE``) of them. Only the due are read
    (the ``next_due_at`` index)."""
    return subscriptions_due_shards(now=now, slot=slot, size=size or settings.PAPERBOY_PLAN_SHARD_SIZE, after=after)


def plan_shard_first(*, now: datetime) -> tuple[int, int] | None:
    """The first shard of ``plan_shards`` alone (cheap however many are due): the beat queues it,
    then cuts the rest (``plan_shards(after=...)``), so the first digests do not wait for the cut."""
    return subscriptions_due_first_shard(now=now, size=settings.PAPERBOY_PLAN_SHARD_SIZE)


# In a run's ``shards_open`` while the beat is still cutting the slot into shards: no shard can then
# strike off the last one and call the run planned (no shard starts at id 0).
CUTTING = 0


def run_open_for_shards(*, now: datetime, shards: Sequence[tuple[int, int]], cutting: bool = False) -> DeliveryRun:
    """The run the beat opens for the shards it queues: planned in full once every shard is struck off.
    ``cutting``: more shards are still to come (``run_shards_add``)."""
    return DeliveryRun.objects.create(
        slot=now.date(),
        note=f"planned in {len(shards)} shard(s)",
        shards_open=[first for first, _ in shards] + ([CUTTING] if cutting else []),
    )


def run_shards_add(*, run_id: int, shards: Sequence[tuple[int, int]]) -> bool:
    """The beat has cut the rest of the slot: add ``shards`` to the run's open shards in place of
    ``CUTTING``. When none is left open (the first shard was planned meanwhile and nothing else is
    due), the run is planned now. Returns True when this call finished the run's planning."""
    with transaction.atomic():
        run = DeliveryRun.objects.select_for_update().get(id=run_id)
        run.note = f"planned in {len(shards) + 1} shard(s)"
        open_now = [s for s in run.shards_open if s != CUTTING] + [first for first, _ in shards]
        return _run_shards_save(run, shards_open=open_now, also=["note"])


def _run_shards_save(run: DeliveryRun, *, shards_open: list[int], also: Sequence[str] = ()) -> bool:
    """Save the run's open shards (and the fields in ``also``), under its row lock; with none left open,
    stamp it planned. Returns True when this call finished the run's planning."""
    run.shards_open = shards_open
    fields = ["shards_open", *also]
    finished = not shards_open and run.planning_finished_at is None
    if finished:
        run.planning_finished_at = timezone.now()
        fields.append("planning_finished_at")
    run.save(update_fields=fields)
    return finished


def run_shard_finish(*, run_id: int, first_id: int) -> bool:
    """Strike shard ``first_id`` off run ``run_id``'s open shards; stamp the run planned when none is
    left. Returns True when this call finished the run's planning."""
    with transaction.atomic():
        run = DeliveryRun.objects.select_for_update().filter(id=run_id).first()
        if run is None:
            return False
        return _run_shards_save(run, shards_open=[s for s in run.shards_open if s != first_id])


def run_planning_finish(*, run: DeliveryRun) -> None:
    """Stamp a run planned in full (its last batch is written): from now on the sweeper may finish it."""
    run.planning_finished_at = timezone.now()
    DeliveryRun.objects.filter(id=run.id).update(planning_finished_at=run.planning_finished_at, shards_open=[])
