"""Bounce addresses and RFC 3464 reports as plain data: hard, soft, or not a bounce at all."""

from __future__ import annotations

from digest.delivery.bounce_parse import HARD, SOFT, bounce_address, bounce_parse, bounce_token_make, bounce_token_read
from tests.delivery.conftest import dsn


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
