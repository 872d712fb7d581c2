"""Unsubscribing from an email: RFC 8058 one-click POST, a GET that only asks, and links that can't be forged."""

from __future__ import annotations

import pytest

from accounts.tokens import token_make
from digest.links import unsubscribe_url
from digest.models import Delivery, Subscription

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.removeprefix("http://localhost:8000")


@pytest.fixture
def link(ada_sub) -> str:
    return path_of(unsubscribe_url(subscription_id=ada_sub.id))


def test_get_shows_a_confirm_page_and_never_unsubscribes(anon, ada_sub, link):
    response = anon.get(link)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unsubscribe?" in html
    assert "a…@example.org" in html  # recognisable, but the full address isn't in a forwarded link's page
    assert "ada@example.org" not in html
    assert f'<form method="post" action="{link}">' in html
    ada_sub.refresh_from_db()
    assert ada_sub.unsubscribed_at is None


def test_one_click_post_unsubscribes_without_login_or_csrf_token(anon, ada_sub, link):
    pending = Delivery.objects.create(subscription=ada_sub, slot="2026-11-28", to_email="ada@example.org")
    response = anon.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    ada_sub.refresh_from_db()
    pending.refresh_from_db()
    assert ada_sub.unsubscribed_at is not None
    assert pending.state == Delivery.State.CANCELLED


def test_unsubscribing_twice_keeps_the_first_time(anon, ada_sub, link):
    anon.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    first = Subscription.objects.get(id=ada_sub.id).unsubscribed_at
    anon.post(link, {"List-Unsubscribe": "One-Click"})
    assert Subscription.objects.get(id=ada_sub.id).unsubscribed_at == first
    assert "already unsubscribed" in anon.get(link).content.decode()


def test_the_confirm_pages_button_unsubscribes(anon, ada_sub, link):
    anon.get(link)
    anon.post(link, {"List-Unsubscribe": "One-Click"})  # what the page's form posts
    ada_sub.refresh_from_db()
    assert ada_sub.unsubscribed_at is not None


@pytest.mark.parametrize(
    "make_token",
    [
        lambda sub: token_make(purpose="unsubscribe", subscription_id=sub.id, address=sub.user.email)[:-3] + "abc",
        lambda sub: token_make(purpose="archive", subscription_id=sub.id, address=sub.user.email, data={"d": 1}),
        lambda sub: "not-a-token",
        lambda sub: token_make(purpose="unsubscribe", subscription_id=999_999, address=sub.user.email),
        # Security review L5: made in another database (the demo's public key) where this id was someone else.
        lambda sub: token_make(purpose="unsubscribe", subscription_id=sub.id, address="demo@paperboy.example"),
    ],
)
def test_a_bad_link_says_it_is_invalid_and_changes_nothing(anon, ada_sub, bo_sub, make_token):
    token = make_token(ada_sub)
    for method in (anon.get, anon.post):
        response = method(f"/unsubscribe/{token}/")
        assert response.status_code == 400
        assert "This link is invalid" in response.content.decode()
    assert not Subscription.objects.filter(unsubscribed_at__isnull=False).exists()


def test_unsubscribe_link_only_affects_its_own_subscriber(anon, ada_sub, bo_sub, link):
    anon.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    bo_sub.refresh_from_db()
    assert bo_sub.unsubscribed_at is None


def test_a_link_sent_to_an_address_the_subscriber_no_longer_has_does_nothing(anon, ada_sub, link):
    """Security review L5: tokens are bound to the address too, not only to the (reusable) id."""
    ada_sub.user.email = "ada.new@example.org"
    ada_sub.user.save(update_fields=["email"])

    response = anon.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    ada_sub.refresh_from_db()
    assert ada_sub.unsubscribed_at is None
