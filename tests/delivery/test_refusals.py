"""What a relay's refusal does to the row, the address and the sending switch (in-process, against a
real SMTP server on loopback whose replies are scripted per recipient).

Only a refusal about the recipient's mailbox suppresses; a refusal of Paperboy itself pauses sending
at once and suppresses nobody; a bare 5xx counts towards the address's bounce score."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from digest.delivery.bounces import bounce_score_add
from digest.delivery.plan import deliveries_plan
from digest.delivery.send import deliveries_send
from digest.models import Delivery, SendingControl, Suppression
from tests.delivery.conftest import reader_make, readers_due

pytestmark = pytest.mark.django_db


def send_all() -> None:
    for chunk in deliveries_plan().chunks:
        deliveries_send(delivery_ids=chunk)


def by_address() -> dict[str, Delivery]:
    return {d.to_email: d for d in Delivery.objects.all()}


def test_a_refusal_of_the_mailbox_suppresses_that_address_and_sending_goes_on(scripted_smtp):
    readers = readers_due(4)
    gone = readers[1].user.email
    scripted_smtp.script(gone, "550")  # 550 5.1.1 No such user

    send_all()

    rows = by_address()
    assert rows[gone].state == Delivery.State.FAILED and rows[gone].last_error.startswith("550 5.1.1")
    assert [r.user.email for r in readers if rows[r.user.email].state == Delivery.State.SENT] == [
        r.user.email for r in readers if r.user.email != gone
    ]
    assert list(Suppression.objects.filter(active=True).values_list("email", flat=True)) == [gone]
    assert not SendingControl.get().paused


def test_a_policy_refusal_after_data_pauses_sending_at_once_and_suppresses_nobody(scripted_smtp, settings):
    settings.PAPERBOY_SMTP_CONNECTIONS = 1
    readers = readers_due(5)
    scripted_smtp.script(readers[1].user.email, "554-policy")  # 554 5.7.1 at DATA

    send_all()

    rows = by_address()
    states = [rows[r.user.email].state for r in readers]
    assert states == ["sent", "failed", "pending", "pending", "pending"]
    assert "5.7.1" in rows[readers[1].user.email].last_error
    assert Suppression.objects.count() == 0
    control = SendingControl.get()
    assert control.paused
    assert control.reason.startswith("The relay refused Paperboy by policy: 554 5.7.1")
    assert "no address was suppressed" in control.reason


def test_a_message_refused_for_its_content_fails_alone(scripted_smtp):
    readers = readers_due(3)
    scripted_smtp.script(readers[0].user.email, "554")  # 554 5.6.0 at DATA: this message only

    send_all()

    assert sorted(d.state for d in Delivery.objects.all()) == ["failed", "sent", "sent"]
    assert Suppression.objects.count() == 0 and not SendingControl.get().paused


def test_the_same_bare_refusal_for_many_recipients_in_a_row_pauses_sending(scripted_smtp, settings):
    settings.PAPERBOY_SMTP_CONNECTIONS = 1
    settings.PAPERBOY_REFUSAL_REPEAT_LIMIT = 3
    readers = readers_due(5)
    for reader in readers:
        scripted_smtp.script(reader.user.email, "550-bare")  # "550 Not allowed": no enhanced code

    send_all()

    assert [by_address()[r.user.email].state for r in readers] == ["failed"] * 3 + ["pending"] * 2
    assert Suppression.objects.filter(active=True).count() == 0
    control = SendingControl.get()
    assert control.paused and control.reason.startswith("The relay gave the same refusal for many different")


def test_a_bare_5xx_suppresses_an_address_only_when_digest_after_digest_is_refused(scripted_smtp, settings):
    settings.PAPERBOY_BOUNCE_SCORE_LIMIT = 3
    reader = reader_make(email="flaky@example.org", send_hour=7)
    readers_due(1)  # a paper to send, and someone the relay accepts
    scripted_smtp.script("flaky@example.org", "550-bare", "550-bare", "550-bare")
    scores = []
    for day in (date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)):
        for chunk in deliveries_plan(slot=day).chunks:
            deliveries_send(delivery_ids=chunk)
        suppression = Suppression.objects.filter(email=reader.user.email).first()
        scores.append((suppression.bounce_score, suppression.active))

    assert scores == [(1, False), (2, False), (3, True)]
    assert Suppression.objects.get(email="flaky@example.org").reason.startswith(
        "bounce score 3, last: SMTP refused: 550"
    )
    assert not SendingControl.get().paused


def test_a_bounce_score_whose_last_bounce_is_stale_starts_again(settings, time_machine):
    settings.PAPERBOY_BOUNCE_SCORE_LIMIT = 2
    time_machine.move_to("2026-03-01 08:00Z")
    assert not bounce_score_add(email="ann@example.org", reason="550 odd")
    time_machine.move_to("2026-03-01 08:00Z")
    time_machine.shift(timedelta(days=settings.PAPERBOY_BOUNCE_SCORE_STALE_DAYS + 1))
    assert not bounce_score_add(email="ann@example.org", reason="550 odd")  # 1 again, not 2
    assert bounce_score_add(email="ann@example.org", reason="550 odd")
    assert Suppression.objects.get(email="ann@example.org").active


def test_the_relay_is_greeted_with_the_configured_helo_name(scripted_smtp, settings):
    settings.PAPERBOY_SMTP_HELO = "papers.example.org"
    readers_due(2)

    send_all()

    assert scripted_smtp.helo_names == {"papers.example.org"}


def test_releasing_a_wrongly_suppressed_address_is_logged_and_its_score_starts_again(settings):
    from django.contrib.admin.models import LogEntry

    from accounts.models import User
    from digest.services.moderation import address_unsuppress

    settings.PAPERBOY_BOUNCE_SCORE_LIMIT = 1
    operator = User.objects.create_user(email="operator@example.org", password=None)
    bounce_score_add(email="ann@example.org", reason="SMTP refused: 550 Not allowed")
    suppression = Suppression.objects.get(email="ann@example.org")
    assert suppression.active and suppression.bounce_score == 1

    assert address_unsuppress(suppression=suppression, by=operator)

    suppression.refresh_from_db()
    assert not suppression.active and suppression.bounce_score == 0 and suppression.last_bounce_at is None
    entry = LogEntry.objects.get(object_id=str(suppression.pk))
    assert entry.user == operator
    assert (
        entry.change_message == "Lifted the suppression (was smtp: bounce score 1, last: SMTP refused: 550 Not allowed)"
    )
