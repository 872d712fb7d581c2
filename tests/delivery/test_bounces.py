"""Bounces: RFC 3464 reports read from a Maildir, hard and soft classified, addresses suppressed."""

from __future__ import annotations

import io
import logging
import mailbox
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.delivery.bounce_parse import HARD, bounce_address
from digest.delivery.bounces import suppression_add
from digest.models import Delivery, Suppression
from digest.selectors.delivery import candidates_due
from tests.delivery.conftest import dsn, reader_make

pytestmark = pytest.mark.django_db


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

    assert process(path) == "bounces: read=1 hard=1 soft=0 complaints=0 duplicates=0 ignored=0 suppressed=1 errors=0"

    delivery.refresh_from_db()
    assert delivery.bounce_kind == HARD and delivery.bounced_at is not None
    assert delivery.state == Delivery.State.SENT  # the relay did accept it; the bounce is recorded beside
    assert "5.1.1" in delivery.last_error
    suppression = Suppression.objects.get(email="gone@example.org")
    assert suppression.active and suppression.source == "bounce"
    now = datetime(2026, 3, 11, 9, tzinfo=UTC)
    assert [c.email for c in candidates_due(now=now).candidates] == []


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

    assert process(path) == "bounces: read=2 hard=0 soft=1 complaints=0 duplicates=1 ignored=0 suppressed=0 errors=0"
    assert not Suppression.objects.get(email="full@example.org").active

    box = mailbox.Maildir(str(path), create=False)
    box.add(mailbox.MaildirMessage(soft(second)))
    assert process(path) == "bounces: read=1 hard=0 soft=1 complaints=0 duplicates=0 ignored=0 suppressed=1 errors=0"
    suppression = Suppression.objects.get(email="full@example.org")
    assert suppression.active and suppression.soft_bounces == 2
    assert process(path) == "bounces: read=0 hard=0 soft=0 complaints=0 duplicates=0 ignored=0 suppressed=0 errors=0"


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


def test_an_address_is_suppressed_once_whatever_its_case_and_its_pending_digests_are_not_sent(caplog):
    sub = reader_make(email="Ada.Lovelace@example.org", send_hour=7)
    pending = Delivery.objects.create(
        subscription=sub, slot=datetime(2026, 3, 11).date(), to_email="Ada.Lovelace@example.org", message_id="<p@y>"
    )

    with caplog.at_level(logging.INFO, logger="digest.delivery.bounces"):
        first, created = suppression_add(
            email=" ada.lovelace@example.ORG", reason="hard bounce: 5.1.1", source="bounce"
        )
    again, created_again = suppression_add(email="ADA.LOVELACE@EXAMPLE.ORG", reason="550 5.1.1 unknown", source="smtp")

    # The account's spelling is stored (the senders match it exactly), and the second call reuses the entry.
    assert (created, created_again, first.pk) == (True, False, again.pk)
    assert list(Suppression.objects.values_list("email", "source", "active")) == [
        ("Ada.Lovelace@example.org", "smtp", True)
    ]
    pending.refresh_from_db()
    assert pending.state == Delivery.State.SUPPRESSED
    assert pending.last_error == "Address suppressed: hard bounce: 5.1.1"
    assert "suppressed Ada.Lovelace@example.org (bounce)" in caplog.text


def test_a_hard_bounce_also_stops_the_digest_already_planned_for_the_address(tmp_path):
    sent = delivery_for("gone@example.org")
    planned = Delivery.objects.create(
        subscription=sent.subscription, slot=datetime(2026, 3, 11).date(), to_email="gone@example.org"
    )
    bounce = dsn(
        to=bounce_address(sent.id), recipient="gone@example.org", action="failed", status="5.1.1", diagnostic="550"
    )

    assert "suppressed=1" in process(maildir_with(tmp_path, bounce))

    planned.refresh_from_db()
    assert planned.state == Delivery.State.SUPPRESSED
