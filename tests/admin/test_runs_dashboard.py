"""The runs dashboard: per-slot outcomes, throughput, SMTP replies, pause/resume, retry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from digest.models import Delivery, DeliveryRun, SendingControl
from digest.selectors.runs import slot_stats_recent
from tests.factories import subscriber_make

pytestmark = pytest.mark.django_db

SLOT = date(2026, 11, 20)
START = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
DASHBOARD = "/admin/digest/deliveryrun/"


@pytest.fixture
def slot_with_outcomes(db):
    """Six subscribers: four sent over 2 s, one failed with an SMTP reply, one skipped."""
    DeliveryRun.objects.create(slot=SLOT, started_at=START - timedelta(minutes=1), papers=120, planned=6)
    subs = [subscriber_make(email=f"reader{n}@example.org", interests=["x"]) for n in range(6)]
    for n, sub in enumerate(subs[:4]):
        Delivery.objects.create(
            subscription=sub,
            slot=SLOT,
            state=Delivery.State.SENT,
            to_email=sub.user.email,
            claimed_at=START,
            sent_at=START + timedelta(seconds=2 * n / 3),
        )
    failed = Delivery.objects.create(
        subscription=subs[4],
        slot=SLOT,
        state=Delivery.State.FAILED,
        to_email=subs[4].user.email,
        attempts=3,
        content=[{"paper": 1}],
        last_error="550 5.1.1 <reader4@example.org>: Recipient address rejected: User unknown",
    )
    Delivery.objects.create(subscription=subs[5], slot=SLOT, state=Delivery.State.SKIPPED)
    return failed


def test_slot_stats_count_each_outcome_and_the_sending_rate(slot_with_outcomes):
    [stats] = slot_stats_recent(today=SLOT, days=7)

    assert (stats.planned, stats.sent, stats.failed, stats.skipped, stats.expired) == (6, 4, 1, 1, 0)
    assert stats.papers == 120
    assert stats.duration == timedelta(seconds=2)
    assert stats.emails_per_second == 2.0
    assert stats.duration_text == "2.0 s"


@pytest.mark.parametrize(("seconds", "text"), [(4.4, "4.4 s"), (185, "3 min 05 s"), (3720, "1 h 02 min")])
def test_durations_read_at_a_glance(seconds, text):
    from digest.selectors.runs import duration_text

    assert duration_text(timedelta(seconds=seconds)) == text


def test_slots_older_than_the_period_are_left_out(slot_with_outcomes):
    assert slot_stats_recent(today=SLOT + timedelta(days=7), days=7) == []


@time_machine.travel("2026-11-20 12:00Z", tick=False)
def test_the_dashboard_shows_failures_with_their_smtp_reply(rosa_client, slot_with_outcomes):
    page = rosa_client.get(DASHBOARD).content.decode()

    assert "Runs dashboard" in page
    assert "Recipient address rejected: User unknown" in page
    assert "Retry 1 failed" in page


@time_machine.travel("2026-11-20 12:00Z", tick=False)
def test_retrying_a_slot_requeues_its_failed_digests(rosa_client, slot_with_outcomes):
    rosa_client.post(DASHBOARD, {"op": "retry", "slot": "2026-11-20"})

    slot_with_outcomes.refresh_from_db()
    assert slot_with_outcomes.state == Delivery.State.PENDING
    assert Delivery.objects.filter(state=Delivery.State.SENT).count() == 4


def test_pause_and_resume_sending_from_the_dashboard(rosa_client):
    rosa_client.post(DASHBOARD, {"op": "pause", "reason": "SMTP provider incident"})
    control = SendingControl.get()
    assert (control.paused, control.reason) == (True, "SMTP provider incident")
    assert "Sending is paused" in rosa_client.get(DASHBOARD).content.decode()

    rosa_client.post(DASHBOARD, {"op": "resume"})
    assert SendingControl.get().paused is False


def test_the_dashboard_counts_trending_digests_apart(rosa_client):
    from digest.delivery.plan import deliveries_plan
    from digest.models import Subscription
    from tests.factories import paper_make

    now = datetime.now(UTC)
    paper_make(
        title="Upvoted diffusion paper", abstract="diffusion", popularity=40, ingested_at=now - timedelta(hours=1)
    )
    for n in range(3):
        subscriber_make(
            email=f"trend{n}@example.org", interests=[], send_hour=now.hour, digest=Subscription.Digest.TRENDING
        )
    subscriber_make(email="keywords@example.org", interests=["diffusion"], send_hour=now.hour, trending_section=3)

    plan = deliveries_plan()

    assert (plan.planned, plan.trending) == (4, 3)
    [stats] = slot_stats_recent(today=now.date(), days=1)
    assert (stats.planned, stats.trending) == (4, 3)
    page = rosa_client.get(DASHBOARD).content.decode()
    assert '<th class="num" title="of planned: trending digests">trending</th>' in page
    assert '<td class="num">4</td>\n        <td class="num">3</td>' in page
