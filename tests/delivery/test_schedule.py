"""When each subscriber is next due: kept on the row, read through an index, right across DST and zone edits."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
import time_machine
from django.db import connection

from digest.delivery.plan import deliveries_plan
from digest.delivery.schedule import next_due_after_slot, next_due_now, send_time
from digest.models import Delivery, Subscription
from digest.selectors.delivery import subscriptions_due_ids
from digest.services.subscriptions import DeliverySettings, subscription_resume, subscription_update_settings
from tests.factories import subscriber_make

pytestmark = pytest.mark.django_db


def beats(start: datetime, end: datetime, every: timedelta = timedelta(minutes=30)):
    """The beat's clock: ``start``, ``start + every``, ... up to ``end``."""
    t = start
    while t <= end:
        yield t
        t += every


def run_beats(start: datetime, end: datetime, *, between=None) -> None:
    for t in beats(start, end):
        if between:
            between(t)
        with time_machine.travel(t, tick=False):
            deliveries_plan()


def assert_planned_on_time(sub: Subscription, days: list[date]) -> None:
    """Each slot was planned by the first beat after its local send hour: not an hour early or late."""
    rows = Delivery.objects.filter(subscription=sub, slot__in=days).values_list("send_at", "planned_at")
    for send_at, planned_at in rows:
        assert timedelta(0) <= planned_at - send_at < timedelta(minutes=30), (sub.send_hour, send_at, planned_at)


def slots_of(sub: Subscription) -> Counter:
    return Counter(Delivery.objects.filter(subscription=sub, kind=Delivery.Kind.DIGEST).values_list("slot", flat=True))


def test_the_spring_forward_night_skips_nobody_and_plans_nobody_twice():
    # Berlin: 29 Mar 2026, 02:00 -> 03:00. Hour 2 does not exist that night; hours 1 and 3 do.
    subs = {
        h: subscriber_make(email=f"b{h}@example.org", interests=["x"], send_hour=h, tz="Europe/Berlin")
        for h in (0, 1, 2, 3, 7, 23)
    }
    run_beats(datetime(2026, 3, 27, 22, tzinfo=UTC), datetime(2026, 3, 31, 0, tzinfo=UTC))

    days = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    for hour, sub in subs.items():
        planned = slots_of(sub)
        assert all(n == 1 for n in planned.values()), f"hour {hour} planned twice: {planned}"
        assert set(days) <= set(planned), f"hour {hour} skipped a day: {sorted(planned)}"
        assert_planned_on_time(sub, days)
    # The hour that does not exist is sent at the same wall time in the old offset (03:00 CEST).
    assert send_time(day=date(2026, 3, 29), tz_name="Europe/Berlin", send_hour=2) == datetime(
        2026, 3, 29, 1, tzinfo=UTC
    )


def test_the_fall_back_night_sends_the_repeated_hour_once():
    # New York: 1 Nov 2026, 02:00 EDT -> 01:00 EST, so 01:xx happens twice.
    subs = {
        h: subscriber_make(email=f"n{h}@example.org", interests=["x"], send_hour=h, tz="America/New_York")
        for h in (0, 1, 2, 6)
    }
    run_beats(datetime(2026, 10, 31, 0, tzinfo=UTC), datetime(2026, 11, 3, 12, tzinfo=UTC))

    for hour, sub in subs.items():
        planned = slots_of(sub)
        assert all(n == 1 for n in planned.values()), f"hour {hour} planned twice: {planned}"
        days = [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
        assert set(days) <= set(planned), f"hour {hour} skipped a day: {sorted(planned)}"
        assert_planned_on_time(sub, days)
    # The first 01:00 (EDT) is the one.
    assert send_time(day=date(2026, 11, 1), tz_name="America/New_York", send_hour=1) == datetime(
        2026, 11, 1, 5, tzinfo=UTC
    )


def zone_edit(sub: Subscription, tz: str, *, send_hour: int | None = None) -> None:
    sub.refresh_from_db()
    sub.send_hour = sub.send_hour if send_hour is None else send_hour
    subscription_update_settings(
        subscription=sub,
        new=DeliverySettings(
            muted_words=(),
            max_papers=sub.max_papers,
            frequency=sub.frequency,
            weekday=sub.weekday,
            send_hour=sub.send_hour,
            timezone=tz,
            quiet_day_note=False,
        ),
    )


@pytest.mark.parametrize(
    "edits",
    [
        # West just after the digest went out (the local date goes back a day), then east again.
        {
            datetime(2026, 5, 4, 7, 45, tzinfo=UTC): "America/Los_Angeles",
            datetime(2026, 5, 5, 23, 15, tzinfo=UTC): "Asia/Tokyo",
        },
        # East across the date line just before the hour, then back to UTC.
        {datetime(2026, 5, 4, 6, 15, tzinfo=UTC): "Pacific/Kiritimati", datetime(2026, 5, 6, 3, 15, tzinfo=UTC): "UTC"},
    ],
)
def test_zone_edits_never_plan_a_day_twice_nor_skip_one(edits):
    sub = subscriber_make(email="zed@example.org", interests=["x"], send_hour=7, tz="UTC")

    def between(t: datetime) -> None:
        for when, tz in edits.items():
            if when <= t < when + timedelta(minutes=30):
                with time_machine.travel(when, tick=False):
                    zone_edit(sub, tz)

    run_beats(datetime(2026, 5, 3, 0, tzinfo=UTC), datetime(2026, 5, 8, 0, tzinfo=UTC), between=between)
    planned = slots_of(sub)
    assert all(n == 1 for n in planned.values()), f"planned twice: {planned}"
    # Every local day from the first to the last planned one is there (no day skipped by an edit).
    first, last = min(planned), max(planned)
    assert [first + timedelta(days=i) for i in range((last - first).days + 1)] == sorted(planned)
    # And never two digests within a few hours because of an edit.
    sends = sorted(Delivery.objects.filter(subscription=sub).values_list("send_at", flat=True))
    assert all(b - a >= timedelta(hours=7) for a, b in pairwise(sends)), sends


@time_machine.travel(datetime(2026, 6, 1, 9, 30, tzinfo=UTC), tick=False)
def test_planning_a_slot_moves_the_subscriber_to_the_next_one_and_the_beat_stops_reading_them():
    daily = subscriber_make(email="daily@example.org", interests=["x"], send_hour=9, tz="UTC")
    weekly = subscriber_make(
        email="weekly@example.org", interests=["x"], send_hour=9, tz="UTC", frequency="weekly", weekday=0
    )
    later = subscriber_make(email="later@example.org", interests=["x"], send_hour=18, tz="UTC")
    now = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)  # a Monday

    assert subscriptions_due_ids(now=now) == [daily.id, weekly.id, later.id]  # never scheduled yet: looked at once
    deliveries_plan()

    due = dict(Subscription.objects.values_list("id", "next_due_at"))
    assert due[daily.id] == datetime(2026, 6, 2, 9, tzinfo=UTC)
    assert due[weekly.id] == datetime(2026, 6, 8, 9, tzinfo=UTC)
    assert due[later.id] == datetime(2026, 6, 1, 18, tzinfo=UTC)  # not due yet: today at 18:00
    assert subscriptions_due_ids(now=now) == []
    assert subscriptions_due_ids(now=datetime(2026, 6, 1, 18, 0, tzinfo=UTC)) == [later.id]


@time_machine.travel(datetime(2026, 6, 1, 9, 30, tzinfo=UTC), tick=False)
def test_changing_the_hour_or_resuming_reschedules_at_once():
    sub = subscriber_make(email="ed@example.org", interests=["x"], send_hour=9, tz="UTC")
    deliveries_plan()
    sub.refresh_from_db()
    assert sub.next_due_at == datetime(2026, 6, 2, 9, tzinfo=UTC)

    zone_edit(sub, "Europe/Paris", send_hour=20)  # 20:00 in Paris is 18:00 UTC in June, today
    sub.refresh_from_db()
    assert sub.next_due_at == datetime(2026, 6, 1, 18, tzinfo=UTC)

    Subscription.objects.filter(id=sub.id).update(paused=True, next_due_at=None)
    assert subscriptions_due_ids(now=datetime(2026, 6, 1, 9, 30, tzinfo=UTC)) == []  # paused: never read
    sub.refresh_from_db()
    subscription_resume(subscription=sub)
    assert Subscription.objects.get(id=sub.id).next_due_at == datetime(2026, 6, 1, 18, tzinfo=UTC)


def test_the_next_slot_is_counted_in_local_days():
    # After the Saturday before the change, Sunday's 07:00 is 05:00 UTC (CEST), not 06:00.
    after = next_due_after_slot(
        slot=date(2026, 3, 28), tz_name="Europe/Berlin", send_hour=7, frequency="daily", weekday=0
    )
    assert after == datetime(2026, 3, 29, 5, tzinfo=UTC)
    weekly = next_due_now(
        now=datetime(2026, 6, 3, 12, tzinfo=UTC), tz_name="UTC", send_hour=7, frequency="weekly", weekday=0
    )
    assert weekly == datetime(2026, 6, 8, 7, tzinfo=UTC)


@pytest.mark.postgres
def test_the_due_lookup_is_answered_from_the_index():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    subscriber_make(email="ix@example.org", interests=["x"])
    from digest.selectors import delivery as selectors

    rows = selectors._subscriptions_plannable().filter(selectors._due_now(datetime.now(UTC))).values_list("id")
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "subscription_next_due" in plan, plan
