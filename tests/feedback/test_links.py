"""Feedback links in the email: signed, bound to one subscriber/paper/action, GET never records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine

from accounts.tokens import token_make
from digest.content import digest_items_build
from digest.feedback.links import (
    FEEDBACK_LINK_MAX_AGE,
    FeedbackLinkMaker,
    feedback_links_make,
    feedback_token_read,
)
from digest.models import Feedback

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return urlsplit(url).path


def links_for(digest):
    return feedback_links_make(
        subscription_id=digest.subscription.id,
        delivery_id=digest.delivery.id,
        paper_id=digest.paper.id,
        words=["diffusion", "video generation"],
        authors=digest.paper.authors,
    )


def test_each_link_carries_exactly_its_own_action(ada_digest):
    links = links_for(ada_digest)
    read = lambda url: feedback_token_read(token=path_of(url).rstrip("/").rsplit("/", 1)[1])  # noqa: E731
    assert read(links.more_url).action == "like"
    assert read(links.less_url).action == "dislike"
    assert [(w, read(u).action, read(u).word) for w, u in links.mute_urls] == [
        ("diffusion", "mute", "diffusion"),
        ("video generation", "mute", "video generation"),
    ]
    assert [read(u).word for _, u in links.follow_urls] == ["Jan Müller", "Ada Lovelace"]
    assert {read(links.more_url).subscription_id} == {ada_digest.subscription.id}
    assert read(links.more_url).paper_id == ada_digest.paper.id
    assert [label for label, _ in links.actions()] == [
        "More like this",
        "Less like this",
        "Mute “diffusion”",
        "Mute “video generation”",
        "Follow Jan Müller",
        "Follow Ada Lovelace",
    ]


@pytest.mark.parametrize("which", ["more", "less", "mute", "follow"])
def test_opening_a_link_never_records_anything(anon, ada_digest, which):
    links = links_for(ada_digest)
    url = {
        "more": links.more_url,
        "less": links.less_url,
        "mute": links.mute_urls[0][1],
        "follow": links.follow_urls[0][1],
    }[which]
    for _ in range(3):  # a scanner, a previewer, the reader
        response = anon.get(path_of(url))
        assert response.status_code == 200
        assert b'method="post"' in response.content
    ada_digest.subscription.refresh_from_db()
    assert not Feedback.objects.exists()
    assert ada_digest.subscription.muted_words == []
    assert list(ada_digest.subscription.interests.values_list("query", flat=True)) == [
        "diffusion",
        '"video generation"',
    ]


def test_confirming_more_like_this_records_a_like(anon, ada_digest):
    response = anon.confirm(path_of(links_for(ada_digest).more_url))
    assert response.status_code == 200
    assert b"more papers like" in response.content
    (feedback,) = Feedback.objects.all()
    assert (feedback.subscription_id, feedback.paper_id, feedback.kind, feedback.delivery_id) == (
        ada_digest.subscription.id,
        ada_digest.paper.id,
        "like",
        ada_digest.delivery.id,
    )


def test_replayed_link_records_once(anon, ada_digest):
    url = path_of(links_for(ada_digest).more_url)
    anon.confirm(url)
    again = anon.confirm(url)
    assert again.status_code == 200
    assert b"already told us" in again.content
    assert Feedback.objects.count() == 1


def test_less_like_this_replaces_an_earlier_more_like_this(anon, ada_digest):
    links = links_for(ada_digest)
    anon.confirm(path_of(links.more_url))
    anon.confirm(path_of(links.less_url))
    assert list(Feedback.objects.values_list("kind", flat=True)) == ["dislike"]


def test_tampered_link_shows_invalid_page_and_records_nothing(anon, ada_digest):
    url = path_of(links_for(ada_digest).more_url)
    token = url.rstrip("/").rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    bad = url.replace(token, flipped)
    assert anon.get(bad).status_code == 400
    anon.get(url)  # a real page, for the CSRF cookie
    response = anon.post(bad, {"csrfmiddlewaretoken": anon.cookies["csrftoken"].value})
    assert response.status_code == 400
    assert b"This link is invalid" in response.content
    assert not Feedback.objects.exists()


def test_a_token_made_for_another_purpose_is_refused(anon, ada_digest):
    unsubscribe_token = token_make(
        purpose="unsubscribe",
        subscription_id=ada_digest.subscription.id,
        address=ada_digest.subscription.user.email,
        data={"p": ada_digest.paper.id, "a": "like"},
    )
    assert anon.get(f"/feedback/{unsubscribe_token}/").status_code == 400


def test_expired_link_is_refused(anon, ada_digest):
    with time_machine.travel(datetime(2026, 1, 1, 8, tzinfo=UTC), tick=False):
        url = path_of(links_for(ada_digest).more_url)
    with time_machine.travel(datetime(2026, 1, 1, 8, tzinfo=UTC) + FEEDBACK_LINK_MAX_AGE - timedelta(hours=1)):
        assert anon.get(url).status_code == 200
    with time_machine.travel(datetime(2026, 1, 1, 8, tzinfo=UTC) + FEEDBACK_LINK_MAX_AGE + timedelta(hours=1)):
        response = anon.get(url)
        assert response.status_code == 400
        assert b"expired" in response.content
    assert not Feedback.objects.exists()


def test_another_subscribers_link_only_ever_acts_for_its_own_subscriber(anon, ada_digest, bo_digest):
    # Bo, signed in, confirms a link forwarded from Ada's digest: it is Ada's feedback, never Bo's.
    anon.force_login(bo_digest.subscription.user)
    anon.confirm(path_of(links_for(ada_digest).more_url))
    assert list(Feedback.objects.values_list("subscription_id", flat=True)) == [ada_digest.subscription.id]


def test_a_link_naming_another_subscribers_digest_is_refused(anon, ada_digest, bo_digest):
    # Even validly signed, a link pairing Ada with Bo's digest names things that don't belong together.
    mixed = feedback_links_make(
        subscription_id=ada_digest.subscription.id,
        delivery_id=bo_digest.delivery.id,
        paper_id=bo_digest.paper.id,
    )
    assert anon.get(path_of(mixed.more_url)).status_code == 400
    assert not Feedback.objects.exists()


def test_mute_link_adds_the_word_to_muted_words_once(anon, ada_digest):
    (_, url), _ = links_for(ada_digest).mute_urls
    anon.confirm(path_of(url))
    anon.confirm(path_of(url))
    ada_digest.subscription.refresh_from_db()
    assert ada_digest.subscription.muted_words == ["diffusion"]
    assert list(Feedback.objects.values_list("kind", "word")) == [("mute", "diffusion")]


def test_follow_link_adds_an_author_interest_once(anon, ada_digest):
    _, url = links_for(ada_digest).follow_urls[0]
    anon.confirm(path_of(url))
    anon.confirm(path_of(url))
    queries = list(ada_digest.subscription.interests.values_list("query", flat=True))
    assert queries == ["diffusion", '"video generation"', 'author:"Jan Müller" OR author:"Müller, Jan"']


def test_confirm_page_escapes_the_paper_title(anon, ada_digest):
    ada_digest.paper.title = "<script>alert(1)</script> diffusion"
    ada_digest.paper.save()
    response = anon.get(path_of(links_for(ada_digest).more_url))
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_following_an_author_from_preferences_can_include_initials(anon, ada_digest):
    anon.force_login(ada_digest.subscription.user)
    response = anon.post_form("/preferences/authors/follow/", {"name": "Müller, Jan", "initials": "on"})
    assert response.status_code == 302
    anon.post_form("/preferences/authors/follow/", {"name": "Müller, Jan", "initials": "on"})
    assert list(ada_digest.subscription.interests.values_list("query", flat=True))[2:] == [
        'author:"Jan Müller" OR author:"Müller, Jan" OR author:"J. Müller" OR author:"Müller, J."'
    ]
    assert anon.post_form("/preferences/authors/follow/", {"name": "  "}).status_code == 302
    assert ada_digest.subscription.interests.count() == 3


@time_machine.travel(datetime(2026, 11, 27, 6, tzinfo=UTC), tick=False)
def test_one_signer_per_email_mints_the_same_links_as_one_per_card():
    maker = FeedbackLinkMaker(subscription_id=42, delivery_id=900)
    card = {"words": [" diffusion", "video", "diffusion", "", "a", "b", "c"], "authors": ["Ada Lovelace", "B", "C"]}
    for paper_id in (7, 8):
        links = maker.links(paper_id=paper_id, **card)
        assert links == feedback_links_make(subscription_id=42, delivery_id=900, paper_id=paper_id, **card)
        assert maker.actions(paper_id=paper_id, **card) == links.actions()
    assert [w for w, _ in links.mute_urls] == ["diffusion", "video", "a", "b"]
    assert [a for a, _ in links.follow_urls] == ["Ada Lovelace", "B"]


def test_an_emails_cards_each_carry_links_for_their_own_paper(ada_digest, bo_digest):
    # The worker's path: stored content -> items with signed links (one signer for the whole email).
    delivery = ada_digest.delivery
    delivery.content = [*delivery.content, {**delivery.content[0], "paper": bo_digest.paper.id}]
    papers = {p.id: p for p in (ada_digest.paper, bo_digest.paper)}
    items = digest_items_build(delivery.content, papers, delivery=delivery)
    read = lambda url: feedback_token_read(token=path_of(url).rstrip("/").rsplit("/", 1)[1])  # noqa: E731
    for item, paper in zip(items, papers.values(), strict=True):
        actions = [read(url) for _label, url in item.actions]
        assert {(a.subscription_id, a.paper_id, a.delivery_id) for a in actions} == {
            (ada_digest.subscription.id, paper.id, delivery.id)
        }
        assert [(a.action, a.word) for a in actions][:3] == [("like", ""), ("dislike", ""), ("mute", "diffusion")]
