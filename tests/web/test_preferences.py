"""The interests editor: every write path, its validation, its permissions, and CSRF."""

from __future__ import annotations

import pytest

from digest.models import Delivery, Interest, Subscription
from tests import factories
from tests.web.conftest import CsrfClient

pytestmark = pytest.mark.django_db


def queries(sub: Subscription) -> list[str]:
    return list(sub.interests.order_by("position").values_list("query", flat=True))


# --- access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/preferences/", "/archive/", "/preview/?q=diffusion", "/account/delete/", "/archive/1/"]
)
def test_signed_in_pages_send_anonymous_visitors_to_log_in(anon, path):
    response = anon.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(ada_client, ada_sub):
    response = ada_client.post("/preferences/interests/", {"query": "robots"})
    assert response.status_code == 403
    assert "Please try again" in response.content.decode()
    assert queries(ada_sub) == ["diffusion", '"video generation"']


def test_every_form_of_the_signed_in_pages_needs_the_csrf_token(ada_client, ada_sub):
    interest = ada_sub.interests.first()
    paths = [
        "/preferences/interests/",
        f"/preferences/interests/{interest.id}/",
        f"/preferences/interests/{interest.id}/remove/",
        "/preferences/delivery/",
        "/preferences/pause/",
        "/preferences/resume/",
        "/preferences/unsubscribe/",
        "/preferences/resubscribe/",
        "/preferences/test-digest/",
        "/preview/",
        "/account/delete/",
        "/accounts/logout/",
    ]
    assert {path: ada_client.post(path, {"query": "x"}).status_code for path in paths} == dict.fromkeys(paths, 403)
    ada_sub.refresh_from_db()
    assert ada_sub.is_active
    assert queries(ada_sub) == ["diffusion", '"video generation"']


def test_write_urls_refuse_get(ada_client):
    for path in ["/preferences/interests/", "/preferences/pause/", "/preferences/test-digest/"]:
        assert ada_client.get(path).status_code == 405


def test_a_new_user_gets_a_subscription_and_the_onboarding_page(db):
    user = factories.user_make(email="new@example.org")
    client = CsrfClient()
    client.force_login(user)
    response = client.get("/preferences/")
    assert response.status_code == 200
    assert Subscription.objects.filter(user=user).count() == 1
    html = response.content.decode()
    assert "Welcome to Paperboy" in html
    assert "data-browser-timezone" in html  # filled from Intl.DateTimeFormat by the page's script
    assert 'data-example="title:reasoning LLM -survey"' in html


def test_onboarding_stores_the_browser_time_zone_with_the_first_interest(db):
    user = factories.user_make(email="new@example.org")
    client = CsrfClient()
    client.force_login(user)
    response = client.post_form("/preferences/interests/", {"query": "robots", "timezone": "Europe/Paris"})
    assert response.status_code == 302
    sub = Subscription.objects.get(user=user)
    assert sub.timezone == "Europe/Paris"
    assert queries(sub) == ["robots"]


def test_onboarding_ignores_an_unknown_browser_time_zone(db):
    user = factories.user_make(email="new@example.org")
    client = CsrfClient()
    client.force_login(user)
    client.post_form("/preferences/interests/", {"query": "robots", "timezone": "Mars/Olympus_Mons"})
    assert Subscription.objects.get(user=user).timezone == "UTC"


def test_the_browser_time_zone_is_not_applied_after_onboarding(ada_client, ada_sub):
    ada_client.post_form("/preferences/interests/", {"query": "robots", "timezone": "Asia/Tokyo"})
    ada_sub.refresh_from_db()
    assert ada_sub.timezone == "UTC"


# --- interests ----------------------------------------------------------------------------------


def test_adding_an_interest_appends_it(ada_client, ada_sub):
    response = ada_client.post_form("/preferences/interests/", {"query": '  grokking   OR "delayed generalization" '})
    assert response.status_code == 302
    assert queries(ada_sub) == ["diffusion", '"video generation"', 'grokking OR "delayed generalization"']
    page = ada_client.get("/preferences/").content.decode()
    assert "Added “grokking OR &quot;delayed generalization&quot;”." in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"unbalanced quote', "quote"),
        ("diffusion -", ""),
        ("nosuchfield:word", ""),
        ("   ", "Write a query"),
    ],
)
def test_a_malformed_query_is_rejected_inline_and_nothing_is_saved(ada_client, ada_sub, query, message):
    response = ada_client.post_form("/preferences/interests/", {"query": query})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'id="id_query_error"' in html
    assert message.lower() in html.lower()
    assert queries(ada_sub) == ["diffusion", '"video generation"']


def test_the_rejection_says_in_plain_words_what_to_fix_and_marks_where(ada_client):
    response = ada_client.post_form("/preferences/interests/", {"query": 'diffusion "unbalanced quote'})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Close the quote after “unbalanced quote”" in html
    assert "<code>diffusion <mark>&quot;</mark>unbalanced quote</code>" in html
    assert "position" not in html and "Unbalanced" not in html


def test_an_overlong_query_is_rejected_with_its_length(ada_client, ada_sub):
    response = ada_client.post_form("/preferences/interests/", {"query": "word " * 80})
    assert response.status_code == 400
    assert "at most 300 characters" in response.content.decode()
    huge = ada_client.post_form("/preferences/interests/", {"query": "x" * 5000})
    assert huge.status_code == 400
    assert queries(ada_sub) == ["diffusion", '"video generation"']


def test_a_duplicate_interest_is_rejected(ada_client, ada_sub):
    response = ada_client.post_form("/preferences/interests/", {"query": "DIFFUSION"})
    assert response.status_code == 400
    assert "already follow" in response.content.decode()
    assert len(queries(ada_sub)) == 2


def test_at_most_twenty_interests(ada_client, ada_sub):
    for n in range(18):
        ada_client.post_form("/preferences/interests/", {"query": f"topic{n}"})
    assert ada_sub.interests.count() == 20
    response = ada_client.post_form("/preferences/interests/", {"query": "one too many"})
    assert response.status_code == 400
    assert "at most 20" in response.content.decode()


def test_editing_an_interest_replaces_its_query(ada_client, ada_sub):
    interest = ada_sub.interests.get(query="diffusion")
    response = ada_client.post_form(
        f"/preferences/interests/{interest.id}/", {f"i{interest.id}-query": "diffusion -medical"}
    )
    assert response.status_code == 302
    assert queries(ada_sub) == ["diffusion -medical", '"video generation"']


def test_a_bad_edit_is_shown_on_that_interest_and_keeps_the_old_query(ada_client, ada_sub):
    interest = ada_sub.interests.get(query="diffusion")
    response = ada_client.post_form(f"/preferences/interests/{interest.id}/", {f"i{interest.id}-query": 'a "b'})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_i{interest.id}-query_error"' in html
    assert 'value="a &quot;b"' in html  # what they typed is kept for fixing
    interest.refresh_from_db()
    assert interest.query == "diffusion"


def test_removing_an_interest(ada_client, ada_sub):
    interest = ada_sub.interests.get(query="diffusion")
    assert ada_client.post_form(f"/preferences/interests/{interest.id}/remove/").status_code == 302
    assert queries(ada_sub) == ['"video generation"']


def test_nobody_can_edit_or_remove_another_subscribers_interest(ada_client, bo_sub):
    theirs = bo_sub.interests.first()
    assert ada_client.post_form(f"/preferences/interests/{theirs.id}/", {f"i{theirs.id}-query": "x"}).status_code == 404
    assert ada_client.post_form(f"/preferences/interests/{theirs.id}/remove/").status_code == 404
    assert Interest.objects.get(id=theirs.id).query == theirs.query


# --- delivery settings ----------------------------------------------------------------------------


def settings_data(**overrides) -> dict:
    data = {
        "frequency": "weekly",
        "weekday": "4",
        "send_hour": "18",
        "timezone": "America/New_York",
        "max_papers": "5",
        "muted_words": 'medical\nsurvey, Survey ,  \n"protein folding"',
    }
    data.update(overrides)
    return data


def test_saving_delivery_settings(ada_client, ada_sub):
    response = ada_client.post_form("/preferences/delivery/", settings_data())
    assert response.status_code == 302
    ada_sub.refresh_from_db()
    assert (ada_sub.frequency, ada_sub.weekday, ada_sub.send_hour) == ("weekly", 4, 18)
    assert (ada_sub.timezone, ada_sub.max_papers) == ("America/New_York", 5)
    assert ada_sub.muted_words == ["medical", "survey", "protein folding"]
    assert ada_sub.quiet_day_note is False


def test_opting_in_and_out_of_quiet_day_notes(ada_client, ada_sub):
    ada_client.post_form("/preferences/delivery/", settings_data(quiet_day_note="on"))
    ada_sub.refresh_from_db()
    assert ada_sub.quiet_day_note is True
    assert 'name="quiet_day_note" id="id_quiet_day_note" checked' in ada_client.get("/preferences/").content.decode()

    ada_client.post_form("/preferences/delivery/", settings_data())  # an unticked box is not sent at all
    ada_sub.refresh_from_db()
    assert ada_sub.quiet_day_note is False


def test_the_preferences_page_offers_the_private_feed_author_following_and_source_suggestions(ada_client, ada_sub):
    page = ada_client.get("/preferences/").content.decode()
    ada_sub.refresh_from_db()
    assert "/feed/" in page and ada_sub.feed_token  # the secret is made on first view
    assert 'action="/preferences/authors/follow/"' in page
    assert 'href="/feeds/suggest/"' in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus_Mons"),
        ("max_papers", "0"),
        ("max_papers", "51"),
        ("max_papers", "ten"),
        ("send_hour", "24"),
        ("weekday", "7"),
        ("frequency", "hourly"),
        ("muted_words", "x" * 101),
        ("muted_words", "!!!"),
    ],
)
def test_invalid_delivery_settings_are_rejected_and_nothing_changes(ada_client, ada_sub, field, value):
    response = ada_client.post_form("/preferences/delivery/", settings_data(**{field: value}))
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    before = (ada_sub.frequency, ada_sub.timezone, ada_sub.max_papers, ada_sub.muted_words)
    ada_sub.refresh_from_db()
    assert (ada_sub.frequency, ada_sub.timezone, ada_sub.max_papers, ada_sub.muted_words) == before


# --- pause, resume, unsubscribe, resubscribe ------------------------------------------------------


def test_pause_and_resume(ada_client, ada_sub):
    ada_client.post_form("/preferences/pause/")
    ada_sub.refresh_from_db()
    assert ada_sub.paused
    assert "Your digests are paused" in ada_client.get("/preferences/").content.decode()
    ada_client.post_form("/preferences/resume/")
    ada_sub.refresh_from_db()
    assert not ada_sub.paused


def test_unsubscribing_while_signed_in_cancels_pending_digests_and_resubscribing_is_one_click(ada_client, ada_sub):
    pending = Delivery.objects.create(subscription=ada_sub, slot="2026-11-28", to_email="ada@example.org")
    ada_client.post_form("/preferences/unsubscribe/")
    ada_sub.refresh_from_db()
    pending.refresh_from_db()
    assert ada_sub.unsubscribed_at is not None
    assert pending.state == Delivery.State.CANCELLED
    page = ada_client.get("/preferences/").content.decode()
    assert "You are unsubscribed" in page
    assert 'action="/preferences/resubscribe/"' in page
    ada_client.post_form("/preferences/resubscribe/")
    ada_sub.refresh_from_db()
    assert ada_sub.unsubscribed_at is None
    assert ada_sub.is_active


# --- test digest ----------------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """Records the delivery service calls; the real service is exercised by the browser journey."""
    calls: list[int] = []

    def fake_send_test(*, subscription_id: int, on_chunks) -> Delivery:
        calls.append(subscription_id)
        return Delivery.objects.create(
            subscription_id=subscription_id,
            slot="2026-11-27",
            kind=Delivery.Kind.TEST,
            to_email="ada@example.org",
            paper_count=2,
        )

    monkeypatch.setattr("digest.delivery.sample.delivery_send_test", fake_send_test)
    return calls


def test_send_test_digest_queues_one_and_then_rate_limits(ada_client, ada_sub, queued):
    first = ada_client.post_form("/preferences/test-digest/", follow=True)
    assert queued == [ada_sub.id]
    assert "A test digest with 2 papers is on its way to ada@example.org" in first.content.decode()
    second = ada_client.post_form("/preferences/test-digest/", follow=True)
    assert queued == [ada_sub.id]
    assert "one test digest every 10 minutes" in second.content.decode()


def test_the_rate_limit_is_per_subscriber(ada_client, bo_client, ada_sub, bo_sub, queued):
    ada_client.post_form("/preferences/test-digest/")
    bo_client.post_form("/preferences/test-digest/")
    assert queued == [ada_sub.id, bo_sub.id]


def test_no_test_digest_without_interests_or_while_unsubscribed(db, queued):
    user = factories.user_make(email="empty@example.org")
    client = CsrfClient()
    client.force_login(user)
    response = client.post_form("/preferences/test-digest/", follow=True)
    assert "Add an interest first" in response.content.decode()
    sub = factories.subscriber_make(email="gone@example.org", interests=["x"])
    sub.unsubscribed_at = "2026-11-01T00:00:00Z"
    sub.save()
    client.force_login(sub.user)
    response = client.post_form("/preferences/test-digest/", follow=True)
    assert "You are unsubscribed" in response.content.decode()
    assert queued == []
