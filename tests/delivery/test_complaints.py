"""Complaint reports (ARF, RFC 5965) read as plain data."""

from __future__ import annotations

import io
import mailbox
from datetime import date
from email import message_from_bytes, policy

import pytest
from django.core.management import call_command
from django.utils import timezone

from digest.delivery.complaints import feedback_report_part, feedback_report_read


def arf(*, feedback_type: str = "abuse", quoted_headers: str = "", to: str = "fbl@papers.example.org") -> bytes:
    """A feedback report the way Yahoo's and Microsoft's loops write one (RFC 5965 §2, Appendix B.1)."""
    return (
        "From: <staff@mail.example.net>\r\n"
        "Date: Thu, 03 Dec 2026 09:15:00 +0000\r\n"
        "Subject: FW: 3 new papers on diffusion\r\n"
        f"To: <{to}>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54_boundary"\r\n'
        "\r\n"
        "--part1_13d.2e68ed54_boundary\r\n"
        'Content-Type: text/plain; charset="US-ASCII"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
        "This is an email abuse report for an email message received from IP\r\n"
        "192.0.2.1 on Thu, 03 Dec 2026 07:00:12 +0000.\r\n\r\n"
        "--part1_13d.2e68ed54_boundary\r\n"
        "Content-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        "User-Agent: SomeGenerator/1.0\r\n"
        "Version: 1\r\n"
        "Original-Mail-From: <bounces+1-0000000000000000@papers.example.org>\r\n"
        "Original-Rcpt-To: <reader@example.net>\r\n"
        "Arrival-Date: Thu, 03 Dec 2026 07:00:12 +0000\r\n"
        "Reporting-MTA: dns; mail.example.net\r\n"
        "Source-IP: 192.0.2.1\r\n\r\n"
        "--part1_13d.2e68ed54_boundary\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: Paperboy <digest@papers.example.org>\r\n"
        "To: <reader@example.net>\r\n"
        "Subject: 3 new papers on diffusion\r\n"
        f"{quoted_headers}"
        "Message-ID: <abc.digest@papers.example.org>\r\n\r\n"
        "--part1_13d.2e68ed54_boundary--\r\n"
    ).encode()


@pytest.mark.parametrize("parse_policy", [policy.compat32, policy.default])
def test_an_abuse_report_is_read_as_a_complaint(parse_policy):
    message = message_from_bytes(arf(), policy=parse_policy)
    part = feedback_report_part(message)
    assert part is not None
    report = feedback_report_read(part)
    assert report.feedback_type == "abuse" and report.is_complaint
    assert report.user_agent == "SomeGenerator/1.0"
    assert report.original_rcpt_to == "<reader@example.net>"
    assert report.summary == "feedback-type: abuse, from SomeGenerator/1.0"


@pytest.mark.parametrize("kind", ["not-spam", "auth-failure", "virus", "fraud"])
def test_a_report_that_is_not_a_readers_complaint_is_not_one(kind):
    part = feedback_report_part(message_from_bytes(arf(feedback_type=kind), policy=policy.compat32))
    assert not feedback_report_read(part).is_complaint


def test_a_dsn_or_an_ordinary_message_has_no_feedback_report():
    plain = message_from_bytes(b"From: a@b\r\nSubject: out of office\r\n\r\nI am away.\r\n", policy=policy.compat32)
    assert feedback_report_part(plain) is None


# --- process_bounces: complaints suppress, counted on the runs dashboard -----------------------------


def sent_digest(email: str):
    from digest.models import Delivery, DeliveryRun
    from tests.delivery.conftest import reader_make

    sub = reader_make(email=email, send_hour=7)
    run = DeliveryRun.objects.create(slot=date(2026, 12, 3), planning_finished_at=timezone.now())
    return Delivery.objects.create(
        subscription=sub,
        run=run,
        slot=run.slot,
        state="sent",
        to_email=email,
        message_id="<abc.digest@papers.example.org>",
        sent_at=timezone.now(),
    )


def process(path) -> str:
    out = io.StringIO()
    call_command("process_bounces", maildir=str(path), stdout=out)
    return out.getvalue().strip()


def maildir_with(tmp_path, *messages: bytes):
    tmp_path.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(str(tmp_path / "fbl"), create=True)
    for raw in messages:
        box.add(mailbox.MaildirMessage(raw))
    return tmp_path / "fbl"


@pytest.mark.django_db
def test_a_complaint_suppresses_the_address_with_reason_complaint_and_counts_on_the_dashboard(tmp_path):
    from digest.delivery.bounce_parse import bounce_token_make
    from digest.models import Suppression
    from digest.selectors.runs import slot_stats_recent

    delivery = sent_digest("reader@example.net")
    report = arf(quoted_headers=f"X-Paperboy-Delivery: {bounce_token_make(delivery.id)}\r\n")

    assert "complaints=1" in process(maildir_with(tmp_path, report))

    suppression = Suppression.objects.get(email="reader@example.net")
    assert suppression.active and suppression.source == "complaint"
    assert suppression.reason.startswith("complaint (")
    delivery.refresh_from_db()
    assert delivery.bounce_kind == "complaint" and delivery.state == "sent"
    (stats,) = slot_stats_recent(today=date(2026, 12, 3), days=1)
    assert stats.complaints == 1
    # Read again (a crash before the message moved): counted once.
    assert process(maildir_with(tmp_path / "again", report)).count("complaints=0") == 1


@pytest.mark.django_db
def test_a_forged_complaint_or_a_not_spam_report_suppresses_nobody(tmp_path):
    from digest.models import Suppression

    delivery = sent_digest("reader@example.net")
    forged = arf(quoted_headers=f"X-Paperboy-Delivery: {delivery.id}-0000000000000000\r\n")
    process(maildir_with(tmp_path, forged, arf(feedback_type="not-spam")))
    assert not Suppression.objects.exists()


@pytest.mark.django_db
def test_a_dsn_refusing_us_by_policy_does_not_suppress_the_recipient(tmp_path):
    from digest.delivery.bounce_parse import bounce_address
    from digest.models import Suppression
    from tests.delivery.test_bounces import dsn

    delivery = sent_digest("reader@example.net")
    spam_refusal = dsn(
        to=bounce_address(delivery.id),
        recipient="reader@example.net",
        action="failed",
        status="5.7.1",
        diagnostic="550 5.7.1 Message rejected as spam by content filter",
    )
    process(maildir_with(tmp_path, spam_refusal))
    suppression = Suppression.objects.get(email="reader@example.net")
    assert not suppression.active and suppression.bounce_score == 1
