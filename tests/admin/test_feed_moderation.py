"""Feed moderation through the admin: approve, reject with an email, disable, fetch now, health."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from digest.models import Feed
from digest.services import moderation
from tests.factories import paper_make

pytestmark = pytest.mark.django_db

FEEDS_URL = "/admin/digest/feed/"


def suggested_feed(user, *, name="RSS: lab.example.org/feed.xml", url="https://lab.example.org/feed.xml") -> Feed:
    return Feed.objects.create(
        name=name,
        kind=Feed.Kind.RSS,
        url=url,
        state=Feed.State.PENDING,
        enabled=False,
        suggested_by=user,
        suggestion_reason="Our lab's preprints",
    )


def run_action(client, action: str, feeds, **extra):
    data = {"action": action, "_selected_action": [f.pk for f in feeds], **extra}
    return client.post(FEEDS_URL, data, follow=True)


def test_approving_a_suggestion_starts_fetching_and_is_logged(rosa_client, rosa, ada_sub):
    feed = suggested_feed(ada_sub.user)

    response = run_action(rosa_client, "approve_selected", [feed], index=0)

    assert response.status_code == 200
    feed.refresh_from_db()
    assert feed.state == Feed.State.APPROVED
    assert feed.enabled is True
    assert feed.moderated_by == rosa
    assert feed.next_fetch_at is not None and feed.next_fetch_at <= timezone.now()
    entry = LogEntry.objects.get(object_id=str(feed.pk))
    assert entry.user == rosa
    assert entry.get_change_message() == "Approved feed"


def test_rejecting_asks_for_a_reason_then_emails_the_suggester(rosa_client, ada_sub, smtp_sink):
    feed = suggested_feed(ada_sub.user)

    form_page = run_action(rosa_client, "reject_selected", [feed], index=0)
    assert b"receives this reason by email" in form_page.content
    feed.refresh_from_db()
    assert feed.state == Feed.State.PENDING  # nothing happens before the reason is given

    run_action(rosa_client, "reject_selected", [feed], apply="1", reason="Mostly job adverts, few papers.")

    feed.refresh_from_db()
    assert feed.state == Feed.State.REJECTED
    assert feed.rejection_reason == "Mostly job adverts, few papers."
    [mail] = smtp_sink.messages()
    assert mail["To"] == "ada@example.org"
    assert mail["Subject"] == "Your feed suggestion was not accepted"
    assert "Mostly job adverts, few papers." in mail.get_content()
    assert "https://lab.example.org/feed.xml" in mail.get_content()


def test_rejecting_without_a_reason_keeps_the_form_with_an_error(rosa_client, ada_sub):
    feed = suggested_feed(ada_sub.user)

    response = run_action(rosa_client, "reject_selected", [feed], apply="1", reason="  ")

    assert b"This field is required" in response.content
    feed.refresh_from_db()
    assert feed.state == Feed.State.PENDING


def test_a_rejection_stands_when_the_mail_server_is_down(rosa, ada_sub, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    feed = suggested_feed(ada_sub.user)

    outcome = moderation.feed_reject(feed=feed, by=rosa, reason="Off topic")

    assert outcome.notified is False
    assert outcome.mail_error
    feed.refresh_from_db()
    assert feed.state == Feed.State.REJECTED


def test_only_pending_feeds_can_be_rejected(rosa):
    feed = Feed.objects.create(name="arXiv cs.LG", kind=Feed.Kind.ARXIV, categories="cs.LG")

    with pytest.raises(moderation.ModerationError, match="only pending feeds"):
        moderation.feed_reject(feed=feed, by=rosa, reason="no")


def test_disabling_stops_fetching_and_is_logged(rosa_client, rosa):
    feed = Feed.objects.create(name="arXiv cs.LG", kind=Feed.Kind.ARXIV, categories="cs.LG")

    run_action(rosa_client, "disable_selected", [feed], index=0)

    feed.refresh_from_db()
    assert (feed.state, feed.enabled) == (Feed.State.DISABLED, False)
    assert LogEntry.objects.filter(object_id=str(feed.pk), change_message="Disabled feed").exists()


def test_fetch_now_queues_an_ingest_after_commit(rosa_client, monkeypatch, django_capture_on_commit_callbacks):
    import digest.dispatch as dispatch

    queued: list[int] = []

    class Recorder:
        @staticmethod
        def delay(feed_id):
            queued.append(feed_id)

    monkeypatch.setattr(dispatch, "feed_ingest_task", Recorder)
    feed = Feed.objects.create(name="arXiv cs.CL", kind=Feed.Kind.ARXIV, categories="cs.CL")
    pending = Feed.objects.create(name="Pending one", kind=Feed.Kind.RSS, url="https://x.org/f", state="pending")

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(rosa_client, "fetch_now", [feed, pending], index=0)

    assert queued == [feed.pk]
    assert "approve it before fetching" in response.content.decode()


@time_machine.travel("2026-11-20 12:00Z", tick=False)
def test_the_feed_list_shows_health_and_recent_papers(rosa_client):
    sick = Feed.objects.create(
        name="Flaky RSS",
        kind=Feed.Kind.RSS,
        url="https://flaky.example.org/rss",
        consecutive_failures=4,
        last_error="HTTP 503 Service Unavailable",
        last_fetched_at=timezone.now(),
        last_status="failed",
    )
    healthy = Feed.objects.create(name="arXiv cs.LG", kind=Feed.Kind.ARXIV, categories="cs.LG")
    for days in (1, 2, 9):
        paper_make(title=f"Paper {days}", feed=healthy, ingested_at=timezone.now() - timedelta(days=days))

    page = rosa_client.get(FEEDS_URL).content.decode()
    flagged = rosa_client.get(FEEDS_URL, {"health": "flagged"}).context["cl"].result_list

    assert "HTTP 503 Service Unavailable" in page
    assert "⚑ flagged" in page
    assert list(flagged) == [sick]
    row = next(f for f in rosa_client.get(FEEDS_URL).context["cl"].result_list if f.pk == healthy.pk)
    assert row.papers_recent_n == 2  # the paper from 9 days ago is outside the 7-day window


def test_the_feed_page_offers_the_actions_that_apply_as_buttons(mo_client, ada_sub):
    feed = suggested_feed(ada_sub.user)
    page = mo_client.get(f"{FEEDS_URL}{feed.pk}/change/").content.decode()
    assert 'value="Approve"' in page and 'value="Reject…"' in page
    assert 'value="Fetch now"' not in page  # only approved feeds are fetched

    # The buttons post like a selected row: the approve button (with "index") runs at once.
    mo_client.post(FEEDS_URL, {"action": "approve_selected", "_selected_action": feed.pk, "index": "0"})

    feed.refresh_from_db()
    assert feed.state == Feed.State.APPROVED
    page = mo_client.get(f"{FEEDS_URL}{feed.pk}/change/").content.decode()
    assert 'value="Approve"' not in page and 'value="Fetch now"' in page


def test_a_feed_added_by_a_moderator_is_approved_and_records_who_added_it(mo_client, mo):
    response = mo_client.post(
        f"{FEEDS_URL}add/",
        {"name": "arXiv cs.RO", "kind": "arxiv", "url": "", "categories": "cs.RO", "params": "{}",
         "cadence_minutes": 60, "next_fetch_at_0": "", "next_fetch_at_1": ""},
    )  # fmt: skip

    assert response.status_code == 302
    feed = Feed.objects.get(name="arXiv cs.RO")
    assert (feed.state, feed.moderated_by) == (Feed.State.APPROVED, mo)
    assert LogEntry.objects.filter(object_id=str(feed.pk), user=mo, action_flag=1).exists()


def test_a_second_moderator_rejecting_the_same_suggestion_sends_no_second_email(rosa, mo, ada_sub, smtp_sink):
    feed = suggested_feed(ada_sub.user)
    stale_copy = Feed.objects.get(pk=feed.pk)  # what the second moderator's page loaded

    moderation.feed_reject(feed=feed, by=rosa, reason="Off topic")
    with pytest.raises(moderation.ModerationError, match="only pending feeds"):
        moderation.feed_reject(feed=stale_copy, by=mo, reason="Duplicate")

    assert len(smtp_sink.messages()) == 1
    assert Feed.objects.get(pk=feed.pk).rejection_reason == "Off topic"
