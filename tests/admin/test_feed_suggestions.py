"""Subscribers suggest feeds; suggestions wait as pending with a reason, bad input gets a clear error."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from digest.models import Feed
from digest.services import moderation
from digest.services.moderation import MAX_PENDING_SUGGESTIONS, feed_suggest

pytestmark = pytest.mark.django_db

SUGGEST_URL = "/feeds/suggest/"


def test_a_suggested_rss_feed_waits_for_review_and_is_not_fetched(ada_sub):
    feed = feed_suggest(user=ada_sub.user, kind="rss", target=" https://lab.example.org/feed.xml ", reason="Our lab")

    assert (feed.state, feed.enabled) == (Feed.State.PENDING, False)
    assert feed.url == "https://lab.example.org/feed.xml"
    assert feed.name == "RSS: lab.example.org/feed.xml"
    assert (feed.suggested_by, feed.suggestion_reason) == (ada_sub.user, "Our lab")


def test_arxiv_categories_are_normalised(ada_sub):
    feed = feed_suggest(user=ada_sub.user, kind="arxiv", target="stat.ML, cs.LG cs.LG", reason="ML theory")

    assert (feed.kind, feed.categories, feed.url) == ("arxiv", "cs.LG stat.ML", "")


def test_hugging_face_daily_papers_needs_no_address(ada_sub):
    feed = feed_suggest(user=ada_sub.user, kind="hf_daily", target="", reason="Trending papers")

    assert (feed.kind, feed.name) == ("hf_daily", "Hugging Face Daily Papers")


@pytest.mark.parametrize(
    ("kind", "target", "field"),
    [
        ("rss", "ftp://lab.example.org/feed", "target"),
        ("rss", "javascript:alert(1)", "target"),
        ("arxiv", "cs.LG; DROP TABLE", "target"),
        ("arxiv", "", "target"),
        ("jsonl", "/etc/passwd", "kind"),
    ],
)
def test_bad_suggestions_get_a_clear_error_on_the_right_field(ada_sub, kind, target, field):
    with pytest.raises(ValidationError) as err:
        feed_suggest(user=ada_sub.user, kind=kind, target=target, reason="why not")

    assert field in err.value.message_dict
    assert not Feed.objects.exists()


def test_a_known_source_is_not_suggested_twice(ada_sub):
    Feed.objects.create(name="arXiv cs.LG", kind="arxiv", categories="cs.LG")

    with pytest.raises(ValidationError, match="already known"):
        feed_suggest(user=ada_sub.user, kind="arxiv", target="cs.LG", reason="ML")


def test_a_rejected_source_can_be_suggested_again_and_reopens(ada_sub, rosa):
    first = feed_suggest(user=ada_sub.user, kind="rss", target="https://x.example.org/rss", reason="v1")
    moderation.feed_reject(feed=first, by=rosa, reason="Empty feed")

    again = feed_suggest(user=ada_sub.user, kind="rss", target="https://x.example.org/rss", reason="It has papers now")

    assert again.pk == first.pk
    assert (again.state, again.rejection_reason, again.suggestion_reason) == ("pending", "", "It has papers now")


def test_a_subscriber_cannot_flood_the_review_queue(ada_sub):
    for n in range(MAX_PENDING_SUGGESTIONS):
        feed_suggest(user=ada_sub.user, kind="rss", target=f"https://f{n}.example.org/rss", reason="good")

    with pytest.raises(ValidationError, match="waiting for review"):
        feed_suggest(user=ada_sub.user, kind="rss", target="https://one-more.example.org/rss", reason="good")


def test_the_suggest_page_creates_a_pending_feed_and_lists_it(ada_client, ada_sub):
    response = ada_client.post(
        SUGGEST_URL,
        {"kind": "rss", "target": "https://lab.example.org/feed.xml", "reason": "Our lab's preprints"},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "is waiting for a moderator" in page
    assert "RSS: lab.example.org/feed.xml" in page
    assert Feed.objects.get().state == Feed.State.PENDING


def test_the_suggest_page_shows_errors_inline_and_keeps_the_input(ada_client):
    response = ada_client.post(SUGGEST_URL, {"kind": "rss", "target": "not a url", "reason": "<b>great</b>"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "starting with https://" in page
    assert "&lt;b&gt;great&lt;/b&gt;" in page  # kept, and escaped
    assert not Feed.objects.exists()


def test_a_rejected_suggestion_shows_the_reason_to_its_author(ada_client, ada_sub, rosa):
    feed = feed_suggest(user=ada_sub.user, kind="arxiv", target="hep-th", reason="strings")
    moderation.feed_reject(feed=feed, by=rosa, reason="Out of scope for this lab")

    assert "Out of scope for this lab" in ada_client.get(SUGGEST_URL).content.decode()


def test_the_suggest_page_needs_a_login(client):
    response = client.get(SUGGEST_URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:8702/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8703/x",
        "http://[::1]:8704/api",
        "http://10.0.0.7/feed.xml",
        "http://feeds.localhost/rss",
    ],
)
def test_a_suggestion_naming_a_local_or_private_host_is_refused(ada_sub, target):
    """Security review M1: such suggestions were accepted as pending (the fetcher refuses them too)."""
    with pytest.raises(ValidationError, match="public address"):
        feed_suggest(user=ada_sub.user, kind="rss", target=target, reason="looks useful")
    assert not Feed.objects.exists()


def test_a_known_source_is_refused_without_saying_its_name(ada_sub):
    """Security review L14: an operator's private feed must not be discoverable by URL guessing."""
    Feed.objects.create(name="Operator's private mirror", kind="rss", url="https://lab.example.org/feed.xml")
    with pytest.raises(ValidationError) as refused:
        feed_suggest(user=ada_sub.user, kind="rss", target="https://lab.example.org/feed.xml", reason="ML")
    assert "private mirror" not in str(refused.value)
