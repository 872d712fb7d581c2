"""What the pages say matches the reader's situation: unsubscribed, signed in, or brand new."""

from __future__ import annotations

import pytest
from django.utils import timezone

from digest.links import unsubscribe_url
from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db


def test_the_unsubscribe_page_does_not_ask_a_signed_in_reader_to_log_in(ada_client, ada_sub, anon):
    link = unsubscribe_url(subscription_id=ada_sub.id).removeprefix("http://localhost:8000")
    signed_in = ada_client.post_form(link).content.decode()
    assert "You are unsubscribed" in signed_in
    assert "Log in" not in signed_in.split("<main")[1] and "Subscribe again on your interests page" in signed_in
    ada_sub.unsubscribed_at = None
    ada_sub.save(update_fields=["unsubscribed_at"])
    signed_out = anon.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert "Log in and subscribe again" in signed_out.content.decode()


def test_an_unsubscribed_reader_is_not_offered_test_digests_or_told_what_would_go_out(
    ada_client, ada_sub, recent_papers
):
    ada_sub.unsubscribed_at = timezone.now()
    ada_sub.save(update_fields=["unsubscribed_at"])
    html = ada_client.get("/preferences/").content.decode()
    preview = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"}).content.decode()
    assert "You are unsubscribed." in html
    assert "Send me a test digest" not in html
    assert "would go out" not in preview and "would be in your digest if you subscribe again" in preview


def test_a_paused_reader_is_told_the_papers_go_out_once_they_resume(ada_client, ada_sub, recent_papers):
    ada_sub.paused = True
    ada_sub.save(update_fields=["paused"])
    preview = ada_client.get("/preview/", {"q": "diffusion", "fragment": "1"}).content.decode()
    assert "would go out once you resume" in preview


def test_onboarding_shows_one_banner_and_one_task(db):
    user = factories.user_make(email="newbie@example.org", password="a long and unusual passphrase 42")
    client = CsrfClient()
    response = client.post_form(
        "/accounts/login/", {"login": "newbie@example.org", "password": "a long and unusual passphrase 42"}
    )
    assert response["Location"] == "/preferences/"
    html = client.get("/preferences/").content.decode()
    assert user.email
    assert "Welcome to Paperboy!" in html
    assert 'class="messages"' not in html  # no "Successfully signed in" flash stacked above the welcome
    assert "on the right" not in html
    # Advanced features wait until the first interest is in.
    assert 'id="private-feed"' not in html and 'id="follow-author"' not in html


def test_flash_messages_are_a_live_region_around_a_proper_list(ada_client):
    html = ada_client.post_form("/preferences/interests/", {"query": "graph"}, follow=True).content.decode()
    assert '<div class="messages-region" role="status" aria-live="polite">' in html
    assert '<ul class="messages">' in html and 'role="status" aria-live="polite">\n  <ul' in html


def test_the_next_digest_says_when_every_match_was_already_received(ada_client, ada_sub, recent_papers):
    from digest.models import SentPaper

    SentPaper.objects.create(subscription=ada_sub, paper=recent_papers["video"])
    SentPaper.objects.create(subscription=ada_sub, paper=recent_papers["medical"])
    html = ada_client.get("/preferences/").content.decode()
    assert "The 2 matching papers of the last 7 days were in digests you already received" in html
    assert "None of the" not in html


def test_an_author_query_that_finds_nothing_gets_an_authors_hint(ada_client, recent_papers):
    html = ada_client.get("/preview/", {"q": "author:nobodyatall", "fragment": "1"}).content.decode()
    assert "No paper by this author" in html and "Try fewer words" not in html
