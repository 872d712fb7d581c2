"""The sweeper: rows a lost worker left in ``sending``, slot expiry, finished runs (in-process)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from digest.delivery.plan import deliveries_plan
from digest.delivery.sweeper import deliveries_sweep
from digest.models import Delivery, DeliveryRun
from tests.delivery.conftest import reader_make, readers_due

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def row(*, email: str, state: str, claimed_minutes_ago: float | None = None, attempts: int = 1, **fields) -> Delivery:
    sub = reader_make(email=email, send_hour=9)
    return Delivery.objects.create(
        subscription=sub,
        slot=NOON.date(),
        state=state,
        to_email=email,
        message_id=f"<{email}.digest@localhost>",
        send_at=NOON - timedelta(hours=3),
        expires_at=fields.pop("expires_at", NOON + timedelta(hours=3)),
        claimed_at=NOON - timedelta(minutes=claimed_minutes_ago) if claimed_minutes_ago is not None else None,
        claim_token="deadworker",
        attempts=attempts,
        **fields,
    )


@time_machine.travel(NOON, tick=False)
def test_the_sweeper_sends_a_row_a_lost_worker_left_in_sending_again_with_the_same_message_id(settings):
    settings.PAPERBOY_SENDING_TIMEOUT = 600
    lost = row(email="lost@example.org", state=Delivery.State.SENDING, claimed_minutes_ago=30)
    busy = row(email="busy@example.org", state=Delivery.State.SENDING, claimed_minutes_ago=2)

    result = deliveries_sweep()

    lost.refresh_from_db()
    busy.refresh_from_db()
    assert (result.resent, result.unknown) == (1, 0)
    assert lost.state == Delivery.State.PENDING and lost.next_attempt_at == NOON
    assert lost.message_id == "<lost@example.org.digest@localhost>"
    assert "same Message-ID" in lost.last_error
    assert busy.state == Delivery.State.SENDING  # its worker may still be talking to the relay


@time_machine.travel(NOON, tick=False)
def test_the_sweeper_never_resends_a_lost_row_whose_window_passed_or_whose_attempts_are_used_up(settings):
    settings.PAPERBOY_MAX_ATTEMPTS = 3
    late = row(
        email="late@example.org", state=Delivery.State.SENDING, claimed_minutes_ago=60, expires_at=NOON - timedelta(1)
    )
    tired = row(email="tired@example.org", state=Delivery.State.SENDING, claimed_minutes_ago=60, attempts=3)

    assert deliveries_sweep().unknown == 2

    for delivery in (late, tired):
        delivery.refresh_from_db()
        assert delivery.state == Delivery.State.FAILED
        assert delivery.last_error.startswith("outcome unknown")


@time_machine.travel(NOON, tick=False)
def test_a_pending_row_past_its_send_window_expires_instead_of_going_out_late():
    stale = row(email="stale@example.org", state=Delivery.State.PENDING, expires_at=NOON - timedelta(minutes=1))
    fresh = row(email="fresh@example.org", state=Delivery.State.PENDING)

    assert deliveries_sweep().expired == 1

    assert Delivery.objects.get(id=stale.id).state == Delivery.State.EXPIRED
    assert Delivery.objects.get(id=fresh.id).state == Delivery.State.PENDING


def test_a_slot_planned_after_its_window_is_expired_at_once_and_a_finished_run_is_stamped(settings):
    with time_machine.travel(NOON, tick=False):
        readers_due(1)  # send hour 12:00 UTC
    late = NOON + timedelta(hours=settings.PAPERBOY_SEND_WINDOW_HOURS, minutes=1)
    with time_machine.travel(late, tick=False):
        plan = deliveries_plan(now=late)
        assert (plan.expired, plan.chunks) == (1, [])
        assert deliveries_sweep().runs_finished == 1
    assert Delivery.objects.get().state == Delivery.State.EXPIRED
    assert DeliveryRun.objects.get().finished_at == late
