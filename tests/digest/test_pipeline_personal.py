"""The digest that learns, end to end: feedback links in the email, learned re-ranking, quiet-day notes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from digest.feedback.links import feedback_token_read
from digest.feedback.ranker import MIN_DISLIKES, MIN_LIKES
from digest.feedback.tasks import rankers_retrain_task
from digest.models import Delivery, Feedback
from tests.digest.test_pipeline import body, send_day
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
EARLIER = MORNING - timedelta(days=20)


def todays(title: str, abstract: str):
    return paper_make(title=title, abstract=abstract, ingested_at=MORNING - timedelta(hours=1))


@time_machine.travel(MORNING, tick=False)
def test_every_card_carries_signed_feedback_links_for_its_reader(smtp_sink):
    paper = todays("Video Diffusion at Scale", "We scale diffusion models for video.")
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])

    send_day()

    (message,) = smtp_sink.messages()
    text = body(message, "plain")
    html = body(message, "html")
    assert "More like this" in text and "More like this" in html
    assert "Mute" in text and "diffusion" in text
    url = re.search(r"https?://\S+/feedback/\S+", text).group(0)  # the first one is "More like this"
    action = feedback_token_read(token=url.rstrip("/").rsplit("/", 1)[1])
    delivery = Delivery.objects.get(subscription=ada)
    assert (action.subscription_id, action.paper_id, action.delivery_id) == (ada.id, paper.id, delivery.id)
    assert action.action == "like"


def test_a_reader_with_enough_feedback_gets_their_digest_reordered_by_what_they_liked(smtp_sink):
    # Ada likes diffusion for robots and dislikes diffusion for images; both match her keyword.
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"], max_papers=2)
    with time_machine.travel(EARLIER, tick=False):
        for i in range(MIN_LIKES):
            liked = paper_make(
                title=f"Diffusion policies for robot grasping {i}",
                abstract="A diffusion policy controls a robot arm for grasping and manipulation.",
            )
            Feedback.objects.create(subscription=ada, paper=liked, kind=Feedback.Kind.LIKE)
        for i in range(MIN_DISLIKES):
            disliked = paper_make(
                title=f"Diffusion for image super-resolution {i}",
                abstract="Diffusion models upscale photographs and image textures.",
            )
            Feedback.objects.create(subscription=ada, paper=disliked, kind=Feedback.Kind.DISLIKE)
        rankers_retrain_task.delay()
    with time_machine.travel(MORNING, tick=False):
        images = [
            todays(f"Diffusion diffusion image textures {i}", "Diffusion models for image textures and photographs.")
            for i in range(2)
        ]
        robot = todays("Grasping with a robot arm", "A policy for robot grasping and manipulation using diffusion.")
        send_day()

    delivery = Delivery.objects.get(subscription=ada)
    keyword_order = [entry["paper"] for entry in delivery.content if not entry["suggested"]]
    assert keyword_order[0] == robot.id
    assert set(keyword_order) <= {robot.id, *(p.id for p in images)}
    assert "Grasping with a robot arm" in body(smtp_sink.messages()[0], "plain")


@time_machine.travel(MORNING, tick=False)
def test_on_a_quiet_day_an_opted_in_reader_gets_the_nearest_misses_and_others_get_nothing(smtp_sink):
    todays("Diffusion for Image Editing", "Diffusion models edit photographs.")
    ada = subscriber_make(email="ada@example.org", interests=['diffusion "video generation"'], quiet_day_note=True)
    bo = subscriber_make(email="bo@example.org", interests=['diffusion "video generation"'])

    summary = send_day()

    assert summary.endswith("sent=1 skipped=1 failed=0")
    (message,) = smtp_sink.messages()
    assert message["To"] == "ada@example.org"
    assert message["Subject"].startswith("No new matches today")
    assert "Diffusion for Image Editing" in body(message, "plain")
    assert "video generation" in body(message, "plain")  # what it was missing
    assert Delivery.objects.get(subscription=bo).state == Delivery.State.SKIPPED
    note = Delivery.objects.get(subscription=ada)
    assert [entry["near_miss"] for entry in note.content] == [True]
