"""Trending papers on the preferences page (issue 19): chosen with clicks, never a query to type."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from digest.models import Subscription
from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def tess_client(db) -> tuple[CsrfClient, Subscription]:
    """Tess has just verified her address: no interests, the onboarding page."""
    factories.user_make(email="tess@example.org")
    client = CsrfClient()
    client.force_login(factories.User.objects.get(email="tess@example.org"))
    client.get("/preferences/")
    return client, Subscription.objects.get(user__email="tess@example.org")


def _hf(title: str, upvotes: int, categories: list[str]):
    return factories.paper_make(
        title=title, popularity=upvotes, categories=categories, ingested_at=timezone.now() - timedelta(hours=2)
    )


def test_onboarding_offers_trending_papers_with_one_button(tess_client):
    client, tess = tess_client
    page = client.get("/preferences/").content.decode()
    assert "Send me trending papers" in page

    response = client.post_form("/preferences/trending/", {"digest": "trending", "section": "0"})

    assert response.status_code == 302 and response["Location"].endswith("#trending")
    tess.refresh_from_db()
    assert tess.digest == Subscription.Digest.TRENDING and tess.trending_categories == []
    page = client.get("/preferences/").content.decode()
    assert "Subscribed to trending papers" in page
    assert "You get trending papers:</strong> the 10 most upvoted of each day." in page
    assert "Welcome to Paperboy!" not in page, "a trending subscriber is not asked for a query any more"


def test_trending_categories_are_ticked_not_typed_and_unknown_ones_are_refused(tess_client):
    client, tess = tess_client
    client.post_form("/preferences/trending/", {"digest": "trending", "categories": ["cs.CV", "cs.CL"]})
    tess.refresh_from_db()
    assert tess.trending_categories == ["cs.CL", "cs.CV"]

    response = client.post_form("/preferences/trending/", {"digest": "trending", "categories": ["astro-ph"]})

    assert response.status_code == 400
    assert "astro-ph is not one of the available choices" in response.content.decode()
    tess.refresh_from_db()
    assert tess.trending_categories == ["cs.CL", "cs.CV"], "a refused form changes nothing"


def test_a_keyword_subscriber_switches_the_trending_section_on(ada_client, ada_sub):
    response = ada_client.post_form("/preferences/trending/", {"digest": "keywords", "section": "3"})
    assert response.status_code == 302
    ada_sub.refresh_from_db()
    assert ada_sub.digest == Subscription.Digest.KEYWORDS and ada_sub.trending_section == 3
    page = " ".join(ada_client.get("/preferences/").content.decode().split())
    assert "ends with “Trending today”:</strong> up to 3 trending papers your interests did not bring." in page


def test_the_trending_form_needs_the_csrf_token(tess_client):
    client, tess = tess_client
    assert client.post("/preferences/trending/", {"digest": "trending"}).status_code == 403
    tess.refresh_from_db()
    assert tess.digest == Subscription.Digest.KEYWORDS


def test_the_trending_preview_shows_the_list_for_the_ticked_categories(tess_client):
    client, _ = tess_client
    _hf("Seeing Further with Video Transformers", 128, ["cs.CV"])
    _hf("A Chatty Language Model", 300, ["cs.CL"])

    everything = client.get("/preferences/trending/preview/").content.decode()
    vision = client.get("/preferences/trending/preview/?categories=cs.CV").content.decode()

    assert everything.index("A Chatty Language Model") < everything.index("Seeing Further")
    assert "A Chatty Language Model" not in vision
    assert "▲ 128 upvotes · #2 on Hugging Face today" in vision
    page = client.get("/preferences/").content.decode()
    assert "Seeing Further with Video Transformers" in page, "the preferences page shows the list too"


def test_a_trending_subscriber_can_send_themselves_a_test_digest(
    tess_client, smtp_sink, django_capture_on_commit_callbacks
):
    client, _ = tess_client
    _hf("Seeing Further with Video Transformers", 128, ["cs.CV"])
    client.post_form("/preferences/trending/", {"digest": "trending"})

    with django_capture_on_commit_callbacks(execute=True):  # the chunk is queued once committed
        response = client.post_form("/preferences/test-digest/")

    assert response.status_code == 302
    [received] = smtp_sink.received
    message = received.message
    assert message["Subject"] == "Test: Trending today: the most upvoted paper"  # a test digest says so
    assert "▲ 128 upvotes · #1 on Hugging Face today" in " ".join(message.get_body(("plain",)).get_content().split())


def test_the_trending_settings_fold_away_for_a_keyword_subscriber_and_open_for_a_trending_one(tess_client):
    client, _ = tess_client
    folded = client.get("/preferences/").content.decode()
    assert '<details class="trending-settings">' in folded, "a keyword subscriber's page stays short"
    assert "Send me trending papers" in folded, "the one-button path stays in view"

    client.post_form("/preferences/trending/", {"digest": "trending"})

    assert '<details class="trending-settings" open>' in client.get("/preferences/").content.decode()


def test_trending_previews_beyond_the_rate_are_refused_with_a_clear_message(tess_client, settings):
    """Each tick of a category asks for the list again: the live preview's per-user throttle applies."""
    client, _ = tess_client
    settings.PAPERBOY_PREVIEW_RATE = 3
    _hf("A Chatty Language Model", 300, ["cs.CL"])

    answers = [client.get("/preferences/trending/preview/?categories=cs.CL") for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 3 + [429] * 2
    assert answers[-1]["Retry-After"]
    assert "wait a moment" in answers[-1].content.decode()
    assert "A Chatty Language Model" not in answers[-1].content.decode()
