"""Accounts through allauth with the site's design: sign up, verify, log in/out, reset, delete; no enumeration."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress

from accounts.models import User
from digest.models import Delivery, Interest, Subscription
from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 42"


def links_in(message) -> list[str]:
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"https?://\S+", body)


def signup(client: CsrfClient, email: str):
    return client.post_form("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Account emails are queued after commit; run those callbacks as a real request's commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_signup_sends_a_verification_email_over_smtp_and_the_link_lands_on_onboarding(smtp_sink, on_commit):
    client = CsrfClient()
    with on_commit():
        response = signup(client, "newbie@example.org")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert "Check your inbox" in client.get(response["Location"]).content.decode()

    [message] = smtp_sink.messages()
    assert message["To"] == "newbie@example.org"
    assert message["Subject"] == "Confirm your email address for Paperboy"
    [link] = [url for url in links_in(message) if "/accounts/confirm-email/" in url]
    path = re.sub(r"^https?://[^/]+", "", link)

    # Following the link shows a confirm button (never confirms on GET); pressing it logs in and onboards.
    assert "Confirm" in client.get(path).content.decode()
    assert not EmailAddress.objects.get(email="newbie@example.org").verified
    response = client.post_form(path)
    assert response.status_code == 302
    assert response["Location"] == "/preferences/"
    assert EmailAddress.objects.get(email="newbie@example.org").verified
    page = client.get("/preferences/").content.decode()
    assert "Welcome to Paperboy" in page


def test_an_unverified_user_cannot_log_in(db):
    factories.user_make(email="cy@example.org", verified=False)
    client = CsrfClient()
    response = client.post_form(
        "/accounts/login/", {"login": "cy@example.org", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/preferences/").status_code == 302


def test_log_in_and_out(db):
    factories.user_make(email="ada@example.org")
    client = CsrfClient()
    response = client.post_form(
        "/accounts/login/", {"login": "ada@example.org", "password": "correct horse battery staple"}
    )
    assert response["Location"] == "/preferences/"
    assert client.get("/preferences/").status_code == 200
    client.post_form("/accounts/logout/")
    assert client.get("/preferences/").status_code == 302


def test_signing_up_with_a_taken_address_looks_exactly_like_a_new_one(smtp_sink, on_commit):
    factories.user_make(email="ada@example.org")
    with on_commit():
        taken = signup(CsrfClient(), "ada@example.org")
        fresh = signup(CsrfClient(), "someone@example.org")
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert User.objects.filter(email="ada@example.org").count() == 1


def test_password_reset_does_not_reveal_whether_an_account_exists(smtp_sink, on_commit):
    factories.user_make(email="ada@example.org")
    with on_commit():
        known = CsrfClient().post_form("/accounts/password/reset/", {"email": "ada@example.org"})
        unknown = CsrfClient().post_form("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    reset_links = [url for m in smtp_sink.messages() for url in links_in(m) if "/password/reset/key/" in url]
    assert len(reset_links) == 1  # only the real account gets a reset link


def test_wrong_password_says_so_without_naming_the_account(db):
    factories.user_make(email="ada@example.org")
    response = CsrfClient().post_form("/accounts/login/", {"login": "ada@example.org", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accounts/confirm-email/",
    ],
)
def test_allauth_pages_share_the_site_design(anon, path):
    html = anon.get(path).content.decode()
    assert "/static/css/paperboy.css" in html
    assert 'class="skip-link"' in html
    assert 'class="card allauth-form"' in html
    assert '<main id="main"' in html


def test_account_pages_have_the_account_menu(ada_client):
    for path in ["/accounts/email/", "/accounts/password/change/", "/account/delete/"]:
        html = ada_client.get(path).content.decode()
        assert 'aria-label="Account"' in html
        assert 'aria-current="page"' in html


def test_changing_the_email_address_sends_a_verification_to_the_new_one(ada_client, smtp_sink, on_commit):
    with on_commit():
        response = ada_client.post_form("/accounts/email/", {"email": "ada.new@example.org", "action_add": ""})
    assert response.status_code == 302
    assert [m["To"] for m in smtp_sink.messages()] == ["ada.new@example.org"]
    assert not EmailAddress.objects.get(email="ada.new@example.org").verified


def test_deleting_the_account_needs_the_password(ada_client, ada_sub):
    response = ada_client.post_form("/account/delete/", {"confirmation": "wrong"})
    assert response.status_code == 400
    assert "That is not your password" in response.content.decode()
    assert User.objects.filter(id=ada_sub.user_id).exists()


def test_deleting_the_account_removes_the_users_data_and_logs_out(ada_client, ada_sub, bo_sub):
    Delivery.objects.create(subscription=ada_sub, slot="2026-11-28", to_email="ada@example.org")
    response = ada_client.post_form("/account/delete/", {"confirmation": "correct horse battery staple"}, follow=True)
    assert "Your account and everything in it are deleted" in response.content.decode()
    assert not User.objects.filter(email="ada@example.org").exists()
    assert not Subscription.objects.filter(id=ada_sub.id).exists()
    assert not Interest.objects.filter(subscription_id=ada_sub.id).exists()
    assert not Delivery.objects.filter(subscription_id=ada_sub.id).exists()
    assert not EmailAddress.objects.filter(email="ada@example.org").exists()
    assert Subscription.objects.filter(id=bo_sub.id).exists()
    assert ada_client.get("/preferences/").status_code == 302


def test_an_account_without_a_password_confirms_deletion_with_its_address(db):
    user = factories.user_make(email="social@example.org")
    user.set_unusable_password()
    user.save()
    client = CsrfClient()
    client.force_login(user)
    assert client.post_form("/account/delete/", {"confirmation": "other@example.org"}).status_code == 400
    client.post_form("/account/delete/", {"confirmation": "Social@Example.org"})
    assert not User.objects.filter(id=user.id).exists()


def test_deleting_needs_a_csrf_token(ada_client, ada_sub):
    assert ada_client.post("/account/delete/", {"confirmation": "correct horse battery staple"}).status_code == 403
    assert User.objects.filter(id=ada_sub.user_id).exists()


def test_the_account_service_cancels_pending_deliveries_before_deleting(ada_sub, monkeypatch):
    """A worker holding a delivery id must find nothing sendable, even mid-transaction."""
    from digest.services import subscriptions as services

    pending = Delivery.objects.create(subscription=ada_sub, slot="2026-11-28", to_email="ada@example.org")
    seen: list[str] = []
    real_delete = User.delete

    def spy_delete(self, *args, **kwargs):
        seen.append(Delivery.objects.get(id=pending.id).state)
        return real_delete(self, *args, **kwargs)

    monkeypatch.setattr(User, "delete", spy_delete)
    services.account_delete(user=ada_sub.user)
    assert seen == [Delivery.State.CANCELLED]


def test_repeated_wrong_passwords_are_rate_limited_even_for_the_right_one_next(db):
    factories.user_make(email="ada@example.org")
    client = CsrfClient()
    for _ in range(5):
        client.post_form("/accounts/login/", {"login": "ada@example.org", "password": "wrong"})
    response = client.post_form(
        "/accounts/login/", {"login": "ada@example.org", "password": "correct horse battery staple"}
    )
    assert response.status_code in (200, 429)
    assert "Too many" in response.content.decode()
    assert client.get("/preferences/").status_code == 302
