"""Trending digests end to end (issue 19): plan → render → send over a real SMTP server on loopback,
and the next day's run never sends a paper twice."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from django.core.management import call_command

from digest.models import Delivery, DeliveryRun, SentPaper, Subscription
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _hf(title: str, upvotes: int, *, categories: list[str], at: datetime, abstract: str = "An abstract.") -> object:
    return paper_make(
        title=title,
        abstract=abstract,
        popularity=upvotes,
        categories=categories,
        ingested_at=at,
        hf_url="https://huggingface.co/papers/2603.00001",
    )


def _send(day) -> str:
    out = io.StringIO()
    call_command("send_digests", date=day.isoformat(), stdout=out)
    return out.getvalue()


def _messages(sink) -> dict[str, EmailMessage]:
    return {r.rcpt_tos[0]: r.message for r in sink.received}


def _plain(message: EmailMessage) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


def _html(message: EmailMessage) -> str:
    """The HTML part from its cards on (the hidden inbox preview line above them lists titles too)."""
    html = message.get_body(("html",)).get_content()
    return html[html.index('class="ff cards"') :]


def test_trending_and_keyword_readers_get_their_digests_over_smtp(smtp_sink):
    at = MORNING - timedelta(hours=1)
    with time_machine.travel(MORNING, tick=False):
        top = _hf(
            "Video Diffusion Goes Long", 128, categories=["cs.CV"], at=at, abstract="A diffusion model for video."
        )
        second = _hf("A Language Model That Reads Tables", 96, categories=["cs.CL"], at=at)
        third = _hf("Robots Learn to Fold", 40, categories=["cs.RO"], at=at)
        tess = subscriber_make(
            email="tess@example.org", interests=[], max_papers=2, digest=Subscription.Digest.TRENDING
        )
        vic = subscriber_make(
            email="vic@example.org", interests=[], digest=Subscription.Digest.TRENDING, trending_categories=["cs.CV"]
        )
        ada = subscriber_make(email="ada@example.org", interests=["diffusion"], trending_section=2)

        _send(MORNING.date())

    mail = _messages(smtp_sink)
    assert set(mail) == {"tess@example.org", "vic@example.org", "ada@example.org"}
    tess_mail = mail["tess@example.org"]
    assert tess_mail["Subject"] == "Trending today: the 2 most upvoted papers"
    for part in (_plain(tess_mail), _html(tess_mail)):
        assert part.index("Video Diffusion Goes Long") < part.index("A Language Model That Reads Tables")
        assert "Robots Learn to Fold" not in part
        assert "#2 on Hugging Face today" in part
    assert "▲ 128 upvotes · #1 on Hugging Face today" in _plain(tess_mail)

    vic_mail = mail["vic@example.org"]
    assert vic_mail["Subject"] == "Trending today: the most upvoted paper in cs.CV"
    assert "A Language Model That Reads Tables" not in _plain(vic_mail)

    ada_mail = mail["ada@example.org"]
    assert ada_mail["Subject"].startswith("1 new paper on diffusion")
    for part in (_plain(ada_mail), _html(ada_mail)):
        # ("Goes Long": the matched word "Diffusion" is highlighted in the HTML part.)
        assert part.index("Goes Long") < part.index("Trending today") < part.index("Reads Tables")
        assert part.count("Goes Long") == 1, "the section never repeats a personal match"
        assert "Robots Learn to Fold" in part
    assert set(SentPaper.objects.filter(subscription=tess).values_list("paper_id", flat=True)) == {top.id, second.id}
    assert set(SentPaper.objects.filter(subscription=ada).values_list("paper_id", flat=True)) == {
        top.id,
        second.id,
        third.id,
    }
    assert DeliveryRun.objects.get().trending == 2
    assert Delivery.objects.filter(subscription=vic, state=Delivery.State.SENT).count() == 1


def test_the_next_day_never_repeats_a_paper_and_ranks_the_new_upvotes(smtp_sink):
    at = MORNING - timedelta(hours=1)
    with time_machine.travel(MORNING, tick=False):
        yesterday = _hf("Yesterday's Top Paper", 500, categories=["cs.LG"], at=at)
        tess = subscriber_make(
            email="tess@example.org", interests=[], max_papers=2, digest=Subscription.Digest.TRENDING
        )
        _send(MORNING.date())
    assert [m["Subject"] for m in _messages(smtp_sink).values()] == ["Trending today: the most upvoted paper"]

    next_morning = MORNING + timedelta(days=1)
    with time_machine.travel(next_morning, tick=False):
        # Yesterday's paper keeps gaining upvotes (ingestion refreshes them in place); today's papers arrive.
        type(yesterday).objects.filter(id=yesterday.id).update(popularity=900)
        new = _hf("Today's Paper", 12, categories=["cs.LG"], at=next_morning - timedelta(hours=2))
        smtp_sink.received.clear()
        _send(next_morning.date())

    [message] = _messages(smtp_sink).values()
    assert "Yesterday's Top Paper" not in _plain(message)
    assert "Today's Paper" in _plain(message)
    assert set(SentPaper.objects.filter(subscription=tess).values_list("paper_id", flat=True)) == {yesterday.id, new.id}
