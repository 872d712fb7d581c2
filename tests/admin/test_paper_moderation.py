"""Paper moderation: hide (planned digests leave the paper out), unhide, merge duplicates, flags."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from digest.models import Delivery, Feed, Paper, SentPaper
from digest.services import moderation
from tests.factories import bo, paper_make

pytestmark = pytest.mark.django_db

PAPERS_URL = "/admin/digest/paper/"


def entry(paper: Paper) -> dict:
    return {"paper": paper.pk, "score": 1.0, "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}]}


def planned_digest(sub, papers: list[Paper]) -> Delivery:
    return Delivery.objects.create(
        subscription=sub,
        slot=timezone.localdate(),
        to_email=sub.user.email,
        content=[entry(p) for p in papers],
        paper_count=len(papers),
    )


def test_hiding_a_paper_leaves_it_out_of_a_digest_planned_before(mo_client, mo, ada_sub):
    from digest.content import digest_email_from_delivery

    keep = paper_make(title="Diffusion models for video generation")
    junk = paper_make(title="Diffusion of spam: buy now")
    delivery = planned_digest(ada_sub, [keep, junk])

    mo_client.post(PAPERS_URL, {"action": "hide_selected", "_selected_action": [junk.pk], "index": 0})
    mo_client.post(
        PAPERS_URL, {"action": "hide_selected", "_selected_action": [junk.pk], "apply": "1", "reason": "Spam"}
    )

    junk.refresh_from_db()
    assert (junk.hidden, junk.hidden_reason) == (True, "Spam")
    email = digest_email_from_delivery(Delivery.objects.get(pk=delivery.pk))
    assert [item.paper_key for item in email.items] == [keep.pk]
    assert LogEntry.objects.get(object_id=str(junk.pk)).user == mo


def test_unhiding_before_the_send_puts_the_paper_back(mo, ada_sub):
    from digest.content import digest_email_from_delivery

    paper = paper_make(title="Diffusion transformers")
    delivery = planned_digest(ada_sub, [paper])
    moderation.paper_hide(papers=[paper], by=mo, reason="Checking")

    moderation.paper_unhide(papers=Paper.objects.filter(pk=paper.pk), by=mo)

    assert [i.paper_key for i in digest_email_from_delivery(delivery).items] == [paper.pk]


def test_bulk_hide_hides_every_selected_paper_and_counts_them(mo):
    papers = [paper_make(title=f"Spam {n}") for n in range(3)]
    already = paper_make(title="Old spam", hidden=True, hidden_reason="Spam")

    count = moderation.paper_hide(papers=Paper.objects.filter(title__contains="pam"), by=mo, reason="Spam wave")

    assert count == 3
    assert Paper.objects.filter(pk__in=[p.pk for p in papers], hidden=True, hidden_reason="Spam wave").count() == 3
    assert Paper.objects.get(pk=already.pk).hidden_reason == "Spam"


def test_marking_a_duplicate_merges_it_into_the_kept_paper(mo_client, mo, ada_sub):
    feed = Feed.objects.create(name="HF daily", kind=Feed.Kind.HF_DAILY)
    kept = paper_make(title="Video diffusion", external_id="2401.00001", arxiv_id="2401.00001", categories=["cs.CV"])
    dup = paper_make(
        title="Video Diffusion",
        external_id="hf:video-diffusion",
        categories=["cs.LG"],
        hf_url="https://huggingface.co/papers/2401.00001",
        popularity=42,
        feed=feed,
    )
    other = bo()
    SentPaper.objects.create(subscription=other, paper=dup)
    delivery = planned_digest(ada_sub, [dup])

    mo_client.post(
        PAPERS_URL,
        {"action": "mark_duplicate", "_selected_action": [dup.pk], "apply": "1", "canonical": "2401.00001"},
    )

    dup.refresh_from_db()
    kept.refresh_from_db()
    assert dup.duplicate_of == kept and dup.hidden
    assert kept.hf_url == "https://huggingface.co/papers/2401.00001"
    assert kept.popularity == 42
    assert kept.categories == ["cs.CV", "cs.LG"]
    # Bo got the duplicate already, so the kept paper counts as sent to him; Ada's planned digest carries it.
    assert SentPaper.objects.filter(subscription=other, paper=kept).exists()
    delivery.refresh_from_db()
    assert [e["paper"] for e in delivery.content] == [kept.pk]


def test_a_paper_cannot_be_merged_into_its_own_duplicate(mo):
    first = paper_make(title="A")
    second = paper_make(title="A again")
    moderation.paper_mark_duplicate(duplicate=second, canonical=first, by=mo)

    with pytest.raises(moderation.ModerationError, match="itself"):
        moderation.paper_mark_duplicate(duplicate=first, canonical=second, by=mo)


def test_merging_into_a_duplicate_uses_the_paper_it_was_merged_into(mo):
    root = paper_make(title="Root")
    middle = paper_make(title="Middle")
    moderation.paper_mark_duplicate(duplicate=middle, canonical=root, by=mo)
    late = paper_make(title="Late copy")

    kept = moderation.paper_mark_duplicate(duplicate=late, canonical=middle, by=mo)

    assert kept == root
    assert Paper.objects.get(pk=late.pk).duplicate_of_id == root.pk


def test_the_paper_list_filters_flagged_and_hidden_papers(mo_client):
    flagged = paper_make(title="Suspicious", flagged=True)
    paper_make(title="Fine")
    hidden = paper_make(title="Gone", hidden=True)

    assert list(mo_client.get(PAPERS_URL, {"flagged__exact": "1"}).context["cl"].result_list) == [flagged]
    assert list(mo_client.get(PAPERS_URL, {"hidden__exact": "1"}).context["cl"].result_list) == [hidden]
    assert b"Suspicious" in mo_client.get(PAPERS_URL, {"q": "Suspicious"}).content


def test_the_paper_list_shows_how_many_subscribers_received_it(mo_client, ada_sub):
    paper = paper_make(title="Popular")
    SentPaper.objects.create(subscription=ada_sub, paper=paper)
    SentPaper.objects.create(subscription=bo(), paper=paper)

    [row] = mo_client.get(PAPERS_URL).context["cl"].result_list

    assert row.recipients_n == 2


def test_clearing_a_flag_is_logged(mo):
    paper = paper_make(title="Odd", flagged=True)

    assert moderation.paper_unflag(papers=[paper], by=mo) == 1

    assert not Paper.objects.get(pk=paper.pk).flagged
    assert LogEntry.objects.filter(object_id=str(paper.pk), user=mo).exists()


def test_papers_are_found_by_exact_id_before_title_words(mo_client):
    wanted = paper_make(title="Grokking at the edge", external_id="2401.04242", arxiv_id="2401.04242")
    paper_make(title="A paper citing 2401.04242 in its title")

    by_id = mo_client.get(PAPERS_URL, {"q": "arXiv:2401.04242"}).context["cl"].result_list
    by_words = mo_client.get(PAPERS_URL, {"q": "edge"}).context["cl"].result_list

    assert list(by_id) == [wanted]
    assert list(by_words) == [wanted]


def test_titles_and_errors_from_feeds_are_escaped_in_the_admin(mo_client):
    feed = Feed.objects.create(
        name="Evil <b>feed</b>", kind="rss", url="https://e.example.org", last_error="<img src=x onerror=alert(1)>"
    )
    paper_make(title="<script>alert('x')</script> Diffusion", feed=feed)

    papers = mo_client.get(PAPERS_URL).content.decode()
    feeds = mo_client.get("/admin/digest/feed/").content.decode()

    assert "<script>alert" not in papers and "&lt;script&gt;alert" in papers
    assert "<img src=x" not in feeds and "&lt;img src=x" in feeds
    assert "<b>feed</b>" not in feeds


def test_a_paper_hidden_after_planning_never_reaches_the_inbox(mo_client, ada_sub, smtp_sink):
    from datetime import timedelta

    from digest.delivery.envelope import message_id_make
    from digest.delivery.send import deliveries_send

    keep = paper_make(title="Diffusion models for video generation")
    junk = paper_make(title="Diffusion of miracle pills")
    now = timezone.now()
    delivery = planned_digest(ada_sub, [keep, junk])
    Delivery.objects.filter(pk=delivery.pk).update(
        send_at=now - timedelta(minutes=1), expires_at=now + timedelta(hours=1), message_id=message_id_make()
    )

    mo_client.post(
        PAPERS_URL, {"action": "hide_selected", "_selected_action": [junk.pk], "apply": "1", "reason": "Spam"}
    )
    deliveries_send(delivery_ids=[delivery.pk])

    [mail] = smtp_sink.messages()
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Diffusion models for video generation" in text and "Diffusion models for video generation" in html
    assert "miracle pills" not in text and "miracle pills" not in html


def test_a_paper_hidden_by_a_moderator_leaves_the_trending_list(mo):
    from datetime import timedelta

    from django.utils import timezone

    from digest.selectors.trending import trending_papers
    from digest.services.moderation import paper_hide
    from tests.factories import paper_make

    now = timezone.now()
    spam = paper_make(title="Upvote farm", popularity=5000, ingested_at=now - timedelta(hours=1))
    real = paper_make(title="A real paper", popularity=40, ingested_at=now - timedelta(hours=1))
    assert [p.key for p in trending_papers(start=now - timedelta(days=1), end=now)] == [spam.id, real.id]

    paper_hide(papers=[spam], by=mo, reason="vote manipulation")

    assert [p.key for p in trending_papers(start=now - timedelta(days=1), end=now)] == [real.id]
