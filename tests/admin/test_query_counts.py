"""List pages run a fixed number of queries whatever the number of rows (no N+1).

Each test measures a page with a few rows, adds many more rows of every related kind, and asserts
with ``django_assert_num_queries`` that the page still runs exactly as many queries.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digest.models import Delivery, DeliveryRun, Feed, FeedRun, SentPaper
from digest.services import moderation
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.django_db

# A list page is a handful of queries (session, user, permissions, filters, count, rows).
SMALL = 15


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def assert_constant(client, url, add_rows, django_assert_num_queries) -> None:
    add_rows(2)
    queries_of(client, url)  # warm-up: first visits create singletons (sending switch) and fill caches
    baseline = queries_of(client, url)
    add_rows(10)
    with django_assert_num_queries(baseline):
        client.get(url)
    assert baseline <= SMALL, f"{url} runs {baseline} queries"


_n = iter(range(10_000))


def feeds_with_papers(count: int) -> None:
    for _ in range(count):
        n = next(_n)
        feed = Feed.objects.create(
            name=f"Feed {n}", kind="rss", url=f"https://f{n}.example.org/rss", consecutive_failures=n % 4
        )
        FeedRun.objects.create(feed=feed, status="failed", error="HTTP 500")
        paper_make(title=f"Paper of feed {n}", feed=feed)


def papers_with_everything(count: int) -> None:
    feed = Feed.objects.create(name=f"Source {next(_n)}", kind="arxiv", categories="cs.LG")
    canonical = paper_make(title="Canonical", feed=feed)
    sub = subscriber_make(email=f"reader{next(_n)}@example.org", interests=["x"])
    for _ in range(count):
        paper = paper_make(title=f"Paper {next(_n)}", feed=feed, duplicate_of=canonical, flagged=True)
        SentPaper.objects.create(subscription=sub, paper=paper)


def subscribers_with_history(count: int) -> None:
    for _ in range(count):
        n = next(_n)
        sub = subscriber_make(email=f"sub{n}@example.org", interests=["diffusion", "robot"])
        Delivery.objects.create(subscription=sub, slot=date(2026, 11, 20), state="failed", last_error="451")


def staff_actions(count: int, *, by) -> None:
    for _ in range(count):
        n = next(_n)
        feed = Feed.objects.create(name=f"Moderated {n}", kind="rss", url=f"https://m{n}.example.org", state="pending")
        moderation.feed_approve(feed=feed, by=by)
        paper = paper_make(title=f"Hidden {n}")
        moderation.paper_hide(papers=[paper], by=by, reason="spam")
        moderation.address_suppress(email=f"gone{n}@example.org", by=by, reason="bounce")


def slots_with_deliveries(count: int) -> None:
    for _ in range(count):
        n = next(_n)
        slot = timezone.localdate() - timedelta(days=n % 6)
        DeliveryRun.objects.create(slot=slot, papers=10, planned=1)
        sub = subscriber_make(email=f"slot{n}@example.org", interests=["x"])
        Delivery.objects.create(subscription=sub, slot=slot, state="failed", attempts=2, last_error="550 no")


def test_feed_list(rosa_client, django_assert_num_queries):
    assert_constant(rosa_client, "/admin/digest/feed/", feeds_with_papers, django_assert_num_queries)


def test_feed_run_list(rosa_client, django_assert_num_queries):
    assert_constant(rosa_client, "/admin/digest/feedrun/", feeds_with_papers, django_assert_num_queries)


def test_paper_list(mo_client, django_assert_num_queries):
    assert_constant(mo_client, "/admin/digest/paper/", papers_with_everything, django_assert_num_queries)


def test_subscriber_list(rosa_client, django_assert_num_queries):
    assert_constant(rosa_client, "/admin/digest/subscription/", subscribers_with_history, django_assert_num_queries)


def test_delivery_list(rosa_client, django_assert_num_queries):
    assert_constant(rosa_client, "/admin/digest/delivery/", subscribers_with_history, django_assert_num_queries)


def test_user_list(rosa_client, django_assert_num_queries):
    assert_constant(rosa_client, "/admin/accounts/user/", subscribers_with_history, django_assert_num_queries)


def test_suppression_and_log_lists(rosa_client, rosa, django_assert_num_queries):
    def add(count):
        staff_actions(count, by=rosa)

    assert_constant(rosa_client, "/admin/digest/suppression/", add, django_assert_num_queries)
    assert_constant(rosa_client, "/admin/admin/logentry/", add, django_assert_num_queries)


def test_moderators_log_list(mo_client, mo, django_assert_num_queries):
    assert_constant(
        mo_client, "/admin/admin/logentry/", lambda count: staff_actions(count, by=mo), django_assert_num_queries
    )


def test_runs_dashboard(rosa_client, django_assert_num_queries):
    assert_constant(rosa_client, "/admin/digest/deliveryrun/", slots_with_deliveries, django_assert_num_queries)


def test_subscriber_page_with_many_deliveries(rosa_client, django_assert_num_queries):
    sub = subscriber_make(email="busy@example.org", interests=["a", "b", "c"])
    url = f"/admin/digest/subscription/{sub.pk}/change/"

    def add(count):
        for _ in range(count):
            Delivery.objects.create(subscription=sub, slot=date(2026, 1, 1) + timedelta(days=next(_n)), state="sent")

    assert_constant(rosa_client, url, add, django_assert_num_queries)


def test_big_lists_stop_counting_at_the_cap_and_say_so(mo_client, monkeypatch):
    from digest.admin.base import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "CAP", 3)
    for n in range(4):
        paper_make(title=f"Paper {n}")

    page = mo_client.get("/admin/digest/paper/")

    assert page.context["cl"].result_count == 3
    assert "more than 3 papers" in page.content.decode()


def test_title_search_has_a_trigram_index_on_postgresql(postgres_db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'paper_title_trgm'")
        [(definition,)] = cursor.fetchall()

    assert "gin_trgm_ops" in definition and "upper(title)" in definition
