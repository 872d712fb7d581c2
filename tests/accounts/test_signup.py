"""Sign-up says nothing about who has an account, not even by its timing (security L1, L15)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from accounts.models import User
from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 42"


class CountingHasher(MD5PasswordHasher):
    """The cost of a sign-up is its password hashes (~0.25 s each in production): count them."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counted(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.test_signup.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


def signup_hashes(email: str, counted) -> int:
    before = counted.calls
    response = CsrfClient().post_form(
        "/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert (response.status_code, response["Location"]) == (302, "/accounts/confirm-email/")
    return counted.calls - before


def test_a_known_address_costs_as_many_password_hashes_as_a_new_one(counted, smtp_sink):
    factories.user_make(email="ada@example.org")
    known = signup_hashes("ada@example.org", counted)
    new = signup_hashes("fresh@example.org", counted)
    assert known == new >= 1


@pytest.mark.parametrize("address", ["a@[127.0.0.1]", "a@[IPv6:::1]", "root@[10.0.0.1]"])
def test_an_address_with_an_ip_literal_is_refused(address, smtp_sink):
    response = CsrfClient().post_form(
        "/accounts/signup/", {"email": address, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    if "IPv6" not in address:  # Django's validator already refuses that spelling, in its own words
        assert "not an IP address" in response.content.decode()
    assert not User.objects.exists()
    assert smtp_sink.messages() == []


def test_account_mails_name_this_site_and_never_quote_the_requesters_address(
    smtp_sink, settings, django_capture_on_commit_callbacks
):
    """Security review L8: mails said "example.com", and the change-email mail to Bo quoted Cy's address."""
    factories.user_make(email="bo@example.org")
    cy = factories.user_make(email="cy@example.org")
    with django_capture_on_commit_callbacks(execute=True):  # account emails leave after commit (accounts/outbox.py)
        CsrfClient().post_form(
            "/accounts/signup/", {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD}
        )
        client = CsrfClient()
        client.force_login(cy)
        client.post_form("/accounts/email/", {"email": "bo@example.org", "action_add": ""})

    texts = {m["To"]: m.get_body(preferencelist=("plain",)).get_content() for m in smtp_sink.messages()}
    assert set(texts) == {"new@example.org", "bo@example.org"}
    for text in texts.values():
        assert "example.com" not in text
        assert settings.SITE_DOMAIN in text
    assert "cy@example.org" not in texts["bo@example.org"]
