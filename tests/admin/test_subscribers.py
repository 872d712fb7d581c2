"""Subscribers and deliveries: suppress/unsuppress an address, resend one digest, retry failures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digest.models import Delivery, LibraryItem, LibraryPaper, Suppression
from digest.services import moderation

pytestmark = pytest.mark.django_db

NOW = "2026-11-20 09:00Z"


def delivery_make(sub, *, state=Delivery.State.SENT, slot=date(2026, 11, 20), **fields) -> Delivery:
    defaults = {
        "to_email": sub.user.email,
        "content": [{"paper": 1, "score": 1.0, "reasons": []}],
        "paper_count": 1,
        "message_id": "<old@paperboy>",
    }
    return Delivery.objects.create(subscription=sub, slot=slot, state=state, **{**defaults, **fields})


def test_suppressing_from_the_subscriber_list_stops_planned_digests(rosa_client, rosa, ada_sub):
    planned = delivery_make(ada_sub, state=Delivery.State.PENDING)

    rosa_client.post(
        "/admin/digest/subscription/",
        {"action": "suppress_addresses", "_selected_action": [ada_sub.pk], "index": 0},
    )

    suppression = Suppression.objects.get(email="ada@example.org")
    assert (suppression.active, suppression.source) == (True, "admin")
    planned.refresh_from_db()
    assert planned.state == Delivery.State.SUPPRESSED
    assert LogEntry.objects.filter(object_id=str(suppression.pk), user=rosa).exists()


def test_suppressing_an_address_twice_keeps_one_row_whatever_the_case(rosa, ada_sub):
    moderation.address_suppress(email="Ada@Example.org", by=rosa, reason="complaint")
    moderation.address_suppress(email="ada@example.org ", by=rosa, reason="second complaint")

    suppression = Suppression.objects.get()
    # Stored as the account spells it: the sender matches suppressions by exact address.
    assert (suppression.email, suppression.reason) == ("ada@example.org", "second complaint")


def test_lifting_a_suppression_from_the_admin(rosa_client, rosa, ada_sub):
    suppression = moderation.address_suppress(email=ada_sub.user.email, by=rosa, reason="bounced")

    rosa_client.post(
        "/admin/digest/suppression/",
        {"action": "lift_selected", "_selected_action": [suppression.pk], "index": 0},
    )

    suppression.refresh_from_db()
    assert suppression.active is False


def test_lifting_suppressions_from_the_subscriber_list_matches_the_address_in_any_case(rosa_client, rosa, ada_sub):
    suppression = Suppression.objects.create(email="ADA@example.org", reason="bounced", source="smtp")
    other = Suppression.objects.create(email="someone@example.org", reason="bounced", source="smtp")

    rosa_client.post(
        "/admin/digest/subscription/",
        {"action": "unsuppress_addresses", "_selected_action": [ada_sub.pk], "index": 0},
    )

    suppression.refresh_from_db()
    other.refresh_from_db()
    assert (suppression.active, other.active) == (False, True)
    assert LogEntry.objects.filter(object_id=str(suppression.pk), user=rosa).count() == 1


def test_lifting_suppressions_takes_the_same_queries_however_many_addresses_are_suppressed(rosa, ada_sub):
    def queries_to_lift() -> int:
        Suppression.objects.update_or_create(email="ada@example.org", defaults={"reason": "bounced", "active": True})
        with CaptureQueriesContext(connection) as queries:
            assert moderation.addresses_unsuppress(emails=["Ada@Example.org"], by=rosa) == 1
        return len(queries)

    queries_to_lift()  # once cold: a process-wide cache (content types) may fill on the first call only
    few = queries_to_lift()
    Suppression.objects.bulk_create(Suppression(email=f"gone{n}@example.org", reason="bounced") for n in range(50))

    assert queries_to_lift() == few


def test_adding_a_suppression_in_the_admin_goes_through_the_service(rosa_client, rosa):
    response = rosa_client.post(
        "/admin/digest/suppression/add/", {"email": "gone@example.org", "reason": "asked us to stop"}
    )

    assert response.status_code == 302
    suppression = Suppression.objects.get(email="gone@example.org")
    assert suppression.source == "admin"
    assert LogEntry.objects.filter(object_id=str(suppression.pk)).count() == 1


@time_machine.travel(NOW, tick=False)
def test_resending_a_sent_digest_queues_it_again_with_a_fresh_window(rosa_client, rosa, ada_sub, settings):
    sent = delivery_make(ada_sub, sent_at=timezone.now() - timedelta(hours=2))

    rosa_client.post(
        "/admin/digest/delivery/", {"action": "resend_selected", "_selected_action": [sent.pk], "index": 0}
    )

    sent.refresh_from_db()
    assert sent.state == Delivery.State.PENDING
    assert sent.next_attempt_at == timezone.now()
    assert sent.expires_at == timezone.now() + timedelta(hours=settings.PAPERBOY_SEND_WINDOW_HOURS)
    # A new Message-ID, or mail providers drop the copy as already seen.
    assert sent.message_id.startswith("<") and sent.message_id != "<old@paperboy>"
    assert LogEntry.objects.get(object_id=str(sent.pk)).user == rosa


def test_resending_the_latest_digest_from_the_subscriber_page(rosa_client, ada_sub):
    delivery_make(ada_sub, slot=date(2026, 11, 19))
    latest = delivery_make(ada_sub, slot=date(2026, 11, 20), state=Delivery.State.FAILED, last_error="451 try later")

    rosa_client.post(
        "/admin/digest/subscription/", {"action": "resend_latest", "_selected_action": [ada_sub.pk], "index": 0}
    )

    assert Delivery.objects.get(pk=latest.pk).state == Delivery.State.PENDING
    assert Delivery.objects.filter(state=Delivery.State.SENT).count() == 1


def test_a_suppressed_address_is_not_resent(rosa, ada_sub):
    sent = delivery_make(ada_sub)
    moderation.address_suppress(email="ADA@example.org", by=rosa, reason="hard bounce")

    with pytest.raises(moderation.ModerationError, match="suppressed"):
        moderation.delivery_resend(delivery=sent, by=rosa)


@pytest.mark.parametrize(
    ("state", "message"),
    [(Delivery.State.PENDING, "already queued"), (Delivery.State.SKIPPED, "nothing matched")],
)
def test_queued_and_skipped_digests_are_not_resent(rosa, ada_sub, state, message):
    with pytest.raises(moderation.ModerationError, match=message):
        moderation.delivery_resend(delivery=delivery_make(ada_sub, state=state), by=rosa)


def test_the_subscriber_page_shows_interests_and_delivery_history(rosa_client, ada_sub):
    delivery_make(ada_sub, state=Delivery.State.FAILED, last_error="550 5.1.1 mailbox unavailable")

    page = rosa_client.get(f"/admin/digest/subscription/{ada_sub.pk}/change/").content.decode()

    assert "video generation" in page
    assert "550 5.1.1 mailbox unavailable" in page


def test_the_subscriber_page_shows_their_library_read_only(rosa_client, ada_sub):
    paper = LibraryPaper.objects.create(
        key="arxiv:2001.08361", title="Scaling Laws for Neural Language Models", arxiv_id="2001.08361"
    )
    LibraryItem.objects.create(subscription=ada_sub, paper=paper, source=LibraryItem.Source.BIBTEX)

    page = rosa_client.get(f"/admin/digest/subscription/{ada_sub.pk}/change/").content.decode()

    assert "library (papers like these)" in page.lower()
    assert "Scaling Laws for Neural Language Models" in page and "2001.08361" in page and "BibTeX file" in page
    assert 'name="library-0-source"' not in page and 'name="library-0-DELETE"' not in page  # shown, not edited


def test_subscribers_are_found_by_email(rosa_client, ada_sub):
    from tests.factories import bo

    bo()

    found = rosa_client.get("/admin/digest/subscription/", {"q": "ada@"}).context["cl"].result_list

    assert list(found) == [ada_sub]


def test_resent_and_retried_digests_are_handed_to_the_workers_in_chunks(
    rosa, ada_sub, monkeypatch, settings, django_capture_on_commit_callbacks
):
    import digest.dispatch as dispatch
    from tests.factories import subscriber_make

    chunks: list[list[int]] = []

    class Recorder:
        @staticmethod
        def delay(ids):
            chunks.append(sorted(ids))

    monkeypatch.setattr(dispatch, "deliveries_send_chunk_task", Recorder)
    settings.PAPERBOY_CHUNK_SIZE = 2
    sent = delivery_make(ada_sub)
    failed = [
        delivery_make(subscriber_make(email=f"r{n}@example.org", interests=["x"]), state=Delivery.State.FAILED)
        for n in range(3)
    ]

    with django_capture_on_commit_callbacks(execute=True):
        moderation.delivery_resend(delivery=sent, by=rosa)
        assert moderation.deliveries_retry_failed(by=rosa, slot=date(2026, 11, 20)) == 3

    ids = sorted(d.pk for d in failed)
    assert chunks == [[sent.pk], ids[:2], ids[2:]]


def test_a_resent_digest_really_goes_out_again_with_a_new_message_id(rosa_client, ada_sub, smtp_sink):
    from digest.delivery.send import deliveries_send
    from tests.factories import paper_make

    paper = paper_make(title="Video diffusion at scale")
    sent = delivery_make(
        ada_sub,
        slot=timezone.localdate(),
        content=[{"paper": paper.pk, "score": 1.0, "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}]}],
        sent_at=timezone.now(),
    )

    rosa_client.post(
        "/admin/digest/delivery/", {"action": "resend_selected", "_selected_action": [sent.pk], "index": 0}
    )
    deliveries_send(delivery_ids=[sent.pk])

    [mail] = smtp_sink.messages()
    assert mail["To"] == "ada@example.org"
    assert mail["Message-ID"] != "<old@paperboy>"
    assert "Video diffusion at scale" in mail.get_body(preferencelist=("plain",)).get_content()
    assert Delivery.objects.get(pk=sent.pk).state == Delivery.State.SENT


def test_two_operators_resending_the_same_digest_queue_it_once(rosa, ada_sub):
    sent = delivery_make(ada_sub)
    stale_copy = Delivery.objects.get(pk=sent.pk)

    moderation.delivery_resend(delivery=sent, by=rosa)
    with pytest.raises(moderation.ModerationError, match="changed meanwhile"):
        moderation.delivery_resend(delivery=stale_copy, by=rosa)

    assert LogEntry.objects.filter(object_id=str(sent.pk)).count() == 1
