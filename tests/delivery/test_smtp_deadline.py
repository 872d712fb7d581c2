"""The wall-clock deadline of one SMTP transaction, against a relay that trickles its reply."""

from __future__ import annotations

import smtplib

import pytest

from digest.smtp_deadline import Deadline
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
