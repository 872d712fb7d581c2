"""Sending a chunk: both ways of committing ``sent``, and several SMTP connections per chunk."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from digest.delivery.plan import deliveries_plan
from digest.delivery.send import deliveries_send
from digest.mailsink import MemoryHandler, sink_start
from digest.models import Delivery, Suppression
from tests.delivery.conftest import reader_make, readers_due

pytestmark = pytest.mark.django_db


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
