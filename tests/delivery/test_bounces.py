"""Bounces: RFC 3464 reports read from a Maildir, hard and soft classified, addresses suppressed."""

from __future__ import annotations

import io
import mailbox
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.delivery.bounce_parse import HARD, SOFT, bounce_address, bounce_parse, bounce_token_make, bounce_token_read
from digest.models import Delivery, Suppression
from digest.selectors.delivery import candidates_due
from tests.delivery.conftest import reader_make

pytestmark = pytest.mark.django_db


def dsn(*, to: str, recipient: str, action: str, status: str, diagnostic: str, quoted_header: str = "") -> bytes:
    """A delivery status notification the way Postfix writes one (multipart/report)."""
    return (
        f"Return-Path: <>\r\n"
        f"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        f"To: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n'
        f"\r\n"
        f"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        f"be delivered to one or more recipients.\r\n\r\n"
        f"--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Tue, 10 Mar 2026 09:00:01 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n  (in reply to RCPT TO command)\r\n\r\n"
        f"--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Paperboy <digest@localhost>\r\nTo: {recipient}\r\nSubject: 3 new papers\r\n{quoted_header}"
        f"\r\n--BOUNDARY--\r\n"
    ).encode()


def delivery_for(email: str) -> Delivery:
    sub = reader_make(email=email, send_hour=7)
    now = datetime(2026, 3, 10, 9, tzinfo=UTC)
    return Delivery.objects.create(
        subscription=sub, slot=now.date(), state=Delivery.State.SENT, to_email=email, message_id="<x@y>", send_at=now
    )


def maildir_with(tmp_path, *messages: bytes):
    box = mailbox.Maildir(str(tmp_path / "bounces"), create=True)
    for raw in messages:
        box.add(mailbox.MaildirMessage(raw))
    return tmp_path / "bounces"


def process(path) -> str:
    out = io.StringIO()
    call_command("process_bounces", maildir=str(path), stdout=out)
    return out.getvalue().strip()


def test_a_bounce_token_is_read_back_and_a_forged_one_is_not():
    token = bounce_token_make(42)
    assert bounce_token_read(token) == 42
    assert bounce_token_read(token.upper()) == 42  # an MTA that folds case changes nothing
    assert bounce_token_read("43-" + token.split("-")[1]) is None
    assert bounce_token_read("42-0000000000000000") is None
    assert bounce_address(42) == f"bounces+{token}@localhost"


def test_a_user_unknown_report_is_a_hard_bounce_of_the_delivery_named_by_the_verp_address():
    report = bounce_parse(
        dsn(
            to=bounce_address(7),
            recipient="gone@example.org",
            action="failed",
            status="5.1.1",
            diagnostic="550 5.1.1 No such user",
        )
    )
    assert report.is_dsn and report.delivery_ids == (7,)
    assert (report.kind, report.status) == (HARD, "5.1.1")
    assert "No such user" in report.diagnostic and "RCPT TO" in report.diagnostic


def test_a_delayed_report_and_a_full_mailbox_are_soft_bounces():
    delayed = bounce_parse(
        dsn(to=bounce_address(8), recipient="a@example.org", action="delayed", status="4.4.1", diagnostic="timeout")
    )
    full = bounce_parse(
        dsn(to=bounce_address(8), recipient="a@example.org", action="failed", status="5.2.2", diagnostic="552 full")
    )
    assert (delayed.kind, full.kind) == (SOFT, SOFT)


def test_the_signed_header_quoted_from_the_original_finds_the_delivery_when_the_address_was_rewritten():
    raw = dsn(
        to="postmaster@localhost",
        recipient="gone@example.org",
        action="failed",
        status="5.1.1",
        diagnostic="550 unknown",
        quoted_header=f"X-Paperboy-Delivery: {bounce_token_make(9)}\r\n",
    )
    assert bounce_parse(raw).delivery_ids == (9,)


def test_an_auto_reply_is_not_a_bounce():
    raw = f"From: someone@example.org\r\nTo: {bounce_address(3)}\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n"
    assert bounce_parse(raw.encode()).kind is None
    assert bounce_parse(b"\x00\xff not even a message").kind is None


def test_one_hard_bounce_suppresses_the_address_and_the_planner_skips_it(tmp_path):
    delivery = delivery_for("gone@example.org")
    path = maildir_with(
        tmp_path,
        dsn(
            to=bounce_address(delivery.id),
            recipient="gone@example.org",
            action="failed",
            status="5.1.1",
            diagnostic="550 5.1.1 unknown",
        ),
    )

    assert process(path) == "bounces: read=1 hard=1 soft=0 duplicates=0 ignored=0 suppressed=1 errors=0"

    delivery.refresh_from_db()
    assert delivery.bounce_kind == HARD and delivery.bounced_at is not None
    assert delivery.state == Delivery.State.SENT  # the relay did accept it; the bounce is recorded beside
    assert "5.1.1" in delivery.last_error
    suppression = Suppression.objects.get(email="gone@example.org")
    assert suppression.active and suppression.source == "bounce"
    now = datetime(2026, 3, 11, 9, tzinfo=UTC)
    assert [c.email for c in candidates_due(now=now)] == []


def test_soft_bounces_suppress_only_at_the_limit_and_re_reading_the_mailbox_counts_nothing_twice(tmp_path, settings):
    settings.PAPERBOY_SOFT_BOUNCE_LIMIT = 2
    first, second = delivery_for("full@example.org"), None
    second = Delivery.objects.create(
        subscription=first.subscription,
        slot=datetime(2026, 3, 11).date(),
        state=Delivery.State.SENT,
        to_email="full@example.org",
        message_id="<z@y>",
    )
    soft = lambda d: dsn(  # noqa: E731
        to=bounce_address(d.id), recipient="full@example.org", action="delayed", status="4.2.2", diagnostic="452 full"
    )
    path = maildir_with(tmp_path, soft(first), soft(first))  # the same delay reported twice

    assert process(path) == "bounces: read=2 hard=0 soft=1 duplicates=1 ignored=0 suppressed=0 errors=0"
    assert not Suppression.objects.get(email="full@example.org").active

    box = mailbox.Maildir(str(path), create=False)
    box.add(mailbox.MaildirMessage(soft(second)))
    assert process(path) == "bounces: read=1 hard=0 soft=1 duplicates=0 ignored=0 suppressed=1 errors=0"
    suppression = Suppression.objects.get(email="full@example.org")
    assert suppression.active and suppression.soft_bounces == 2
    assert process(path) == "bounces: read=0 hard=0 soft=0 duplicates=0 ignored=0 suppressed=0 errors=0"


def test_a_forged_bounce_suppresses_nobody(tmp_path):
    delivery = delivery_for("victim@example.org")
    forged = f"bounces+{delivery.id}-0123456789abcdef@localhost"
    path = maildir_with(
        tmp_path, dsn(to=forged, recipient="victim@example.org", action="failed", status="5.1.1", diagnostic="550")
    )

    assert "ignored=1" in process(path)
    assert not Suppression.objects.exists()


def test_a_path_that_is_not_a_maildir_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="not a Maildir"):
        process(tmp_path / "nowhere")
