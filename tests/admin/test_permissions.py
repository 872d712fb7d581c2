"""Who sees what: superusers everything, moderators feeds and papers only, everyone else the login page."""

from __future__ import annotations

import pytest
from django.contrib import admin as django_admin
from django.test import Client

from accounts.models import User
from digest.admin import subscribers
from digest.models import Delivery, Feed
from digest.services import moderation
from tests.factories import paper_make

pytestmark = pytest.mark.django_db

MODERATION_PAGES = [
    "/admin/",
    "/admin/digest/feed/",
    "/admin/digest/feed/add/",
    "/admin/digest/feedrun/",
    "/admin/digest/paper/",
    "/admin/admin/logentry/",
]
SUBSCRIBER_PAGES = [
    "/admin/digest/subscription/",
    "/admin/digest/delivery/",
    "/admin/digest/suppression/",
    "/admin/digest/deliveryrun/",
    "/admin/accounts/user/",
]


@pytest.mark.parametrize("url", MODERATION_PAGES + SUBSCRIBER_PAGES)
def test_an_ordinary_user_gets_the_admin_login_page(ada_client, url):
    response = ada_client.get(url, follow=True)

    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "admin/login.html" in [t.name for t in response.templates]


@pytest.mark.parametrize("url", MODERATION_PAGES + SUBSCRIBER_PAGES)
def test_an_anonymous_visitor_gets_the_admin_login_page(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", MODERATION_PAGES)
def test_a_moderator_opens_the_moderation_pages(mo_client, url):
    assert mo_client.get(url).status_code == 200


@pytest.mark.parametrize("url", SUBSCRIBER_PAGES)
def test_a_moderator_cannot_open_subscriber_pages(mo_client, url):
    assert mo_client.get(url).status_code == 403


@pytest.mark.parametrize("url", MODERATION_PAGES + SUBSCRIBER_PAGES)
def test_a_superuser_opens_every_page(rosa_client, url):
    assert rosa_client.get(url).status_code == 200


def test_staff_without_a_role_sees_no_model(db):
    staff = User.objects.create_user(email="intern@paperboy.test", is_staff=True)
    client = Client()
    client.force_login(staff)

    assert client.get("/admin/digest/feed/").status_code == 403
    assert client.get("/admin/digest/paper/").status_code == 403


def test_a_moderator_cannot_run_subscriber_actions(mo_client, ada_sub):
    delivery = Delivery.objects.create(subscription=ada_sub, slot="2026-11-20", state="sent", content=[{"paper": 1}])

    response = mo_client.post(
        "/admin/digest/delivery/", {"action": "resend_selected", "_selected_action": [delivery.pk], "index": 0}
    )

    assert response.status_code == 403
    assert Delivery.objects.get(pk=delivery.pk).state == "sent"


def test_a_moderator_never_sees_the_suggesters_address(mo_client, rosa_client, ada_sub):
    feed = Feed.objects.create(
        name="Lab feed", kind="rss", url="https://lab.example.org/rss", state="pending", suggested_by=ada_sub.user
    )
    url = f"/admin/digest/feed/{feed.pk}/change/"

    moderator_view = mo_client.get(url).content.decode()

    assert "ada@example.org" not in moderator_view
    assert f"subscriber #{ada_sub.user.pk}" in moderator_view
    assert "ada@example.org" in rosa_client.get(url).content.decode()


def test_the_moderation_log_shows_moderators_no_subscriber_entries(mo_client, rosa_client, mo, rosa, ada_sub):
    paper = paper_make(title="Spam")
    moderation.paper_hide(papers=[paper], by=mo, reason="spam")
    moderation.address_suppress(email=ada_sub.user.email, by=rosa, reason="complaint")

    moderator_log = mo_client.get("/admin/admin/logentry/").content.decode()

    assert "Hid paper: spam" in moderator_log
    assert "ada@example.org" not in moderator_log
    assert "ada@example.org" in rosa_client.get("/admin/admin/logentry/").content.decode()


def test_every_moderation_action_is_visible_in_the_log_with_who_and_when(rosa_client, rosa, mo):
    feed = Feed.objects.create(name="Pending", kind="rss", url="https://p.example.org/rss", state="pending")
    moderation.feed_approve(feed=feed, by=mo)
    moderation.sending_pause(by=rosa, reason="incident")

    log = rosa_client.get("/admin/admin/logentry/").content.decode()

    assert "Approved feed" in log and "mo@paperboy.test" in log
    assert "Paused sending: incident" in log and "rosa@paperboy.test" in log


def test_every_admin_in_the_personal_data_file_is_one_moderators_have_no_permission_on(mo):
    # The moderators' boundary is a file boundary: whatever digest/admin/subscribers.py registers shows
    # addresses, so the moderators group must hold no permission at all on its models.
    personal = [
        model
        for model, model_admin in django_admin.site._registry.items()
        if model_admin.__module__ == subscribers.__name__
    ]

    assert {m._meta.model_name for m in personal} == {"subscription", "delivery", "suppression"}
    for model in personal:
        for action in ("view", "change", "add", "delete"):
            assert not mo.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")
