"""The wall-clock deadline of one SMTP transaction, against a relay that trickles its reply."""

from __future__ import annotations

import smtplib

import pytest

from digest.delivery.deadline import Deadline
from tests.delivery.tarpit import Tarpit


@pytest.fixture
def tarpit():
    server = Tarpit(line_every=0.3, lines=40).start()  # 12 s of reply, each line well under the socket timeout
    yield server
    server.stop()


def test_a_trickled_reply_that_never_hits_the_socket_timeout_is_cut_at_the_deadline(tarpit):
    smtp = smtplib.SMTP("127.0.0.1", tarpit.port, timeout=2, local_hostname="papers.example.org")
    deadline = Deadline(seconds=1.0)
    with pytest.raises((smtplib.SMTPServerDisconnected, OSError)), deadline.watch(lambda: smtp.sock):
        smtp.sendmail("bounces@papers.example.org", ["ann@example.org"], b"Subject: hi\r\n\r\nhello\r\n")
    assert deadline.expired
    assert tarpit.hung_up_early.wait(5)  # the relay saw us go, long before its reply was done
    assert tarpit.finished == []


def test_a_transaction_within_its_deadline_is_left_alone(tarpit):
    tarpit.slow_at = "nothing"
    smtp = smtplib.SMTP("127.0.0.1", tarpit.port, timeout=2, local_hostname="papers.example.org")
    deadline = Deadline(seconds=5.0)
    for _ in range(3):  # the watchdog is re-armed for every message of the connection
        with deadline.watch(lambda: smtp.sock):
            smtp.sendmail("bounces@papers.example.org", ["ann@example.org"], b"Subject: hi\r\n\r\nhello\r\n")
        assert not deadline.expired
    smtp.quit()


@pytest.mark.django_db
def test_a_tarpitting_relay_cannot_hold_a_row_past_the_sending_timeout(settings):
    """EMAIL_TIMEOUT=1 and a relay trickling its RCPT reply a line every 0.3 s for 12 s: without a
    transaction deadline the row would stay ``sending`` for 12 s, past PAPERBOY_SENDING_TIMEOUT (8 s),
    and the sweeper would send it again while the first transaction still ran."""
    from digest.delivery.plan import deliveries_plan
    from digest.delivery.send import deliveries_send
    from digest.delivery.sweeper import deliveries_sweep
    from digest.models import Delivery
    from tests.delivery.conftest import readers_due

    tarpit = Tarpit(line_every=0.3, lines=40).start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", tarpit.port, 1
        settings.PAPERBOY_SENDING_TIMEOUT, settings.PAPERBOY_SMTP_DEADLINE_SECONDS = 8, 1.5
        settings.PAPERBOY_SMTP_CONNECTIONS = 1
        readers_due(1)
        (chunk,) = deliveries_plan().chunks

        result = deliveries_send(delivery_ids=chunk)

        (row,) = Delivery.objects.all()
        assert result.retry == [row.id] and row.state == Delivery.State.PENDING
        assert "passed its deadline of 1.5 s" in row.last_error
        assert tarpit.hung_up_early.wait(5) and tarpit.finished == []
        # Nothing is left in "sending" for the sweeper to take over.
        assert deliveries_sweep().resent == 0
    finally:
        tarpit.stop()
