"""Staff sign in through the site's rate-limited login; the admin checks no password itself (security M6).

Rosa runs the instance (superuser).
"""

from __future__ import annotations

import pytest

from accounts.models import User
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db

ROSA = "rosa@paperboy.test"
RIGHT = "operator password 1"


@pytest.fixture
def rosa(db) -> User:
    return User.objects.create_superuser(email=ROSA, password=RIGHT)


def in_admin(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_the_admin_login_form_never_checks_a_password(rosa):
    client = CsrfClient()
    response = client.post_form("/admin/login/?next=/admin/", {"username": ROSA, "password": RIGHT})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert not in_admin(client)


def test_thirty_guesses_at_the_superusers_password_lock_password_login(rosa):
    client = CsrfClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(15):
        client.post_form("/admin/login/", {"username": ROSA, "password": "wrong"})
        client.post_form("/accounts/login/", {"login": ROSA, "password": "wrong"})

    client.post_form("/admin/login/", {"username": ROSA, "password": RIGHT})
    refused = client.post_form("/accounts/login/", {"login": ROSA, "password": RIGHT})

    assert "Too many" in refused.content.decode()
    assert not in_admin(client)


def test_staff_sign_in_on_the_site_and_land_back_in_the_admin(rosa):
    client = CsrfClient()
    to_login = client.get("/admin/", follow=True)
    assert to_login.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"

    response = client.post_form(
        "/accounts/login/?next=%2Fadmin%2F", {"login": ROSA, "password": RIGHT, "next": "/admin/"}
    )

    assert response["Location"] == "/admin/"
    assert in_admin(client)


def test_an_offsite_next_is_not_followed(rosa):
    response = CsrfClient().get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
