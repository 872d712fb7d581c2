"""The sweeper's reconciliation, slot expiry, the shared rate limit and the circuit breaker, in-process."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from digest.delivery.plan import deliveries_plan
from digest.delivery.ratelimit import RateLimit, RateLimitConfigError, RateLimiter, rate_limits_parse
from digest.delivery.send import deliveries_send
from digest.delivery.sweeper import deliveries_sweep
from digest.mailsink import MemoryHandler, free_port, sink_start
from digest.models import Delivery, DeliveryRun, SendingControl, Suppression
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


def test_a_rate_limit_is_one_bucket_shared_by_every_worker(redis_url):
    limit = RateLimit(per_second=3, burst=3)
    relay = f"test-relay-{free_port()}"
    first = RateLimiter(relay=relay, limit=limit, redis_url=redis_url)
    second = RateLimiter(relay=relay, limit=limit, redis_url=redis_url)

    assert [first.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert second.take() > 0  # the other worker finds the bucket empty
    assert RateLimiter(relay=relay + "-other", limit=limit, redis_url=redis_url).take() == 0.0


def test_the_hourly_limit_spreads_the_hour_and_waits_are_slept_in_short_steps():
    slept: list[float] = []
    limiter = RateLimiter(relay="local", limit=RateLimit(per_hour=120), redis_url="", sleep=slept.append)
    for _ in range(2):  # one minute's worth (120 / 60) goes at once
        assert limiter.acquire() == 0.0
    assert limiter.take() == pytest.approx(30.0, rel=0.01)  # then one every 30 s
    limiter.local.clock = iter([limiter.local.stamp + 31.0 * i for i in range(1, 100)]).__next__
    limiter.acquire()
    assert slept == []  # the fake clock moved on: no wait needed


def test_an_unreachable_redis_falls_back_to_a_bucket_in_the_process():
    limiter = RateLimiter(
        relay="r", limit=RateLimit(per_second=2, burst=2), redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    assert [limiter.take() for _ in range(2)] == [0.0, 0.0]
    assert limiter.take() > 0


def test_per_relay_limits_are_read_from_one_setting_and_nonsense_is_refused():
    limits = rate_limits_parse("smtp.a.org:587=14/s,50000/h; Relay.B:25=5/s")
    assert limits == {
        "smtp.a.org:587": RateLimit(per_second=14, per_hour=50000),
        "relay.b:25": RateLimit(per_second=5),
    }
    with pytest.raises(RateLimitConfigError):
        rate_limits_parse("smtp.a.org:587=fast")


def test_consecutive_failures_trip_the_circuit_breaker_which_pauses_sending_and_tells_the_admins(settings, monkeypatch):
    told: list[str] = []
    monkeypatch.setattr("digest.delivery.circuit.admins_tell", lambda *, subject, body: told.append(body))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    settings.PAPERBOY_BREAKER_THRESHOLD = 3
    settings.PAPERBOY_RATELIMIT_REDIS_URL = ""  # count in this process
    readers_due(5)
    (chunk,) = deliveries_plan().chunks

    result = deliveries_send(delivery_ids=chunk)

    control = SendingControl.get()
    assert result.paused and len(result.retry) == 3
    assert control.paused and control.reason.startswith("Circuit breaker: 3 consecutive failed messages")
    assert "cannot reach the SMTP server" in control.reason and len(told) == 1
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == ["pending"] * 5  # three to retry, two never tried
    assert deliveries_send(delivery_ids=chunk).paused  # the next chunk waits on the switch


@pytest.mark.parametrize("one_statement", [True, False], ids=["one-statement", "portable"])
def test_both_ways_of_committing_sent_and_claiming_record_the_same_rows(one_statement, smtp_sink, monkeypatch):
    from digest.models import SentPaper

    if not one_statement:
        monkeypatch.setattr("digest.delivery.state.single_statement_supported", lambda: False)
    readers = readers_due(3)
    (chunk,) = deliveries_plan().chunks

    result = deliveries_send(delivery_ids=chunk)

    assert (result.claimed, result.sent) == (3, 3)
    rows = list(Delivery.objects.order_by("id"))
    assert [(d.state, d.attempts, d.paper_count) for d in rows] == [("sent", 1, 1)] * 3
    assert all(d.sent_at and d.subject and d.claim_token for d in rows)
    assert SentPaper.objects.filter(delivery__in=rows).count() == 3
    assert sorted(r.rcpt_tos[0] for r in smtp_sink.received) == sorted(r.user.email for r in readers)
    assert deliveries_send(delivery_ids=chunk).claimed == 0


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


class PeerRecordingHandler(MemoryHandler):
    """Remembers which client connection (peer address) carried each message, and holds each DATA a
    little so that connections really overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[tuple[str, tuple]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls this name
        await asyncio.sleep(0.02)
        self.peers.append((envelope.rcpt_tos[0], session.peer))
        return await super().handle_DATA(server, session, envelope)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # aiosmtpd calls this name
        if address == "refused@example.org":
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.mark.django_db(transaction=True)
def test_a_chunk_uses_several_smtp_connections_at_once_and_sends_each_row_once(postgres_db, settings):
    settings.PAPERBOY_SMTP_CONNECTIONS = 3
    settings.PAPERBOY_RATELIMIT_REDIS_URL = ""
    readers = readers_due(11)
    reader_make(email="refused@example.org", send_hour=datetime.now(UTC).hour)
    handler = PeerRecordingHandler()
    controller = sink_start(handler=handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    try:
        (chunk,) = deliveries_plan().chunks
        result = deliveries_send(delivery_ids=chunk)
    finally:
        controller.stop()

    assert (result.claimed, result.sent, result.failed) == (12, 11, 1)
    assert sorted(rcpt for rcpt, _ in handler.peers) == sorted(r.user.email for r in readers)
    assert len({peer for _, peer in handler.peers}) == 3, "three connections, each with its share"
    states = Counter(Delivery.objects.values_list("state", flat=True))
    assert states == Counter({"sent": 11, "failed": 1})
    assert Suppression.objects.filter(email="refused@example.org", active=True).exists()
