"""Operators' commands (add_feed, ingest_feed) and the Celery tasks that schedule ingestion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.core.management import CommandError, call_command

from digest.models import Feed, FeedRun, Paper
from digest.services.ingest.runs import feeds_due
from tests.ingest.conftest import ArxivEntry, Reply, arxiv_api_feed, feed_make, fixture_bytes

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_add_feed_creates_an_approved_arxiv_feed_from_comma_separated_categories():
    out = call("add_feed", "--kind", "arxiv", "--name", "ML daily", "--categories", "cs.LG,cs.CL")
    feed = Feed.objects.get(name="ML daily")
    assert (feed.kind, feed.categories, feed.state, feed.enabled) == ("arxiv", "cs.LG cs.CL", "approved", True)
    assert f"Created feed #{feed.pk}" in out


def test_add_feed_takes_a_url_override_and_params():
    call(
        "add_feed",
        "--kind",
        "hf_daily",
        "--name",
        "HF mirror",
        "--url",
        "http://127.0.0.1:8999/api/daily_papers",
        "--params",
        '{"days": 3}',
        "--cadence",
        "30",
    )
    feed = Feed.objects.get(name="HF mirror")
    assert (feed.url, feed.params, feed.cadence_minutes) == ("http://127.0.0.1:8999/api/daily_papers", {"days": 3}, 30)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "arxiv", "--name", "x"], "arXiv feeds need --categories"),
        (["--kind", "arxiv", "--name", "x", "--categories", "cs.LG;rm -rf"], "not arXiv categories"),
        (["--kind", "rss", "--name", "x"], "needs an http(s) URL"),
        (["--kind", "rss", "--name", "x", "--url", "javascript:alert(1)"], "needs an http(s) URL"),
        (["--kind", "jsonl", "--name", "x", "--url", "/no/such/file.jsonl"], "must be under PAPERBOY_IMPORT_DIR"),
        (["--kind", "hf_daily", "--name", "x", "--params", "[1]"], "--params must be a JSON object"),
    ],
)
def test_add_feed_refuses_what_it_cannot_use(args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call("add_feed", *args)
    assert not Feed.objects.exists()


def test_add_feed_refuses_a_duplicate_name():
    feed_make(kind="rss", url="https://example.org/feed.xml", name="Lab")
    with pytest.raises(CommandError, match="already exists"):
        call("add_feed", "--kind", "rss", "--name", "Lab", "--url", "https://example.org/other.xml")


def test_ingest_feed_by_name_prints_the_run_summary_and_skipped_entries(feed_server):
    feed_make(kind="rss", name="Lab", url=feed_server.serve("/lab.xml", Reply(body=fixture_bytes("lab_feed_rss2.xml"))))
    out = call("ingest_feed", "Lab")
    assert "Lab (#" in out
    assert "partial: fetched 5, new 4, updated 0, skipped 1, HTTP 200" in out
    assert "skipped lab-untitled-1: entry has no title" in out


def test_ingest_feed_by_id_with_since_rereads_from_that_date(feed_server, corpus):
    body = arxiv_api_feed([ArxivEntry(arxiv_id="2611.00001", title=corpus[0].title, abstract=corpus[0].abstract)])
    feed = feed_make(
        kind="arxiv",
        url=feed_server.serve("/api/query", Reply(body=body)),
        categories="cs.LG",
        cursor={"last_published": "2026-11-24T00:00:00+00:00"},
    )
    with time_machine.travel(NOW, tick=False):
        out = call("ingest_feed", str(feed.pk), "--since", "2026-11-01")
    query = parse_qs(urlparse(feed_server.hits("/api/query")[0].path).query)["search_query"][0]
    assert "submittedDate:[202611010000 TO 202611250600]" in query
    assert "ok: fetched 1, new 1" in out


def test_ingest_feed_exits_with_an_error_when_the_fetch_failed(feed_server):
    feed_make(kind="rss", name="Down", url=feed_server.serve("/down.xml", Reply(status=404)))
    with pytest.raises(CommandError, match="Down: fetch failed: HTTP 404"):
        call("ingest_feed", "Down")


def test_ingest_feed_names_an_unknown_feed():
    with pytest.raises(CommandError, match="no feed with id or name 'nope'"):
        call("ingest_feed", "nope")


def test_only_approved_enabled_feeds_whose_time_has_come_are_due():
    due_never_fetched = feed_make(kind="rss", url="https://example.org/a.xml")
    due_now = feed_make(kind="rss", url="https://example.org/b.xml", next_fetch_at=NOW - timedelta(minutes=1))
    feed_make(kind="rss", url="https://example.org/c.xml", next_fetch_at=NOW + timedelta(minutes=1))
    feed_make(kind="rss", url="https://example.org/d.xml", enabled=False)
    feed_make(kind="rss", url="https://example.org/e.xml", state=Feed.State.PENDING)
    feed_make(kind="rss", url="https://example.org/f.xml", state=Feed.State.REJECTED)
    assert feeds_due(now=NOW) == [due_never_fetched.pk, due_now.pk]


@pytest.fixture
def eager_celery():
    from paperboy.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield app
    finally:
        app.conf.task_always_eager = previous


def test_the_beat_task_fetches_each_due_feed_once_its_transaction_commits(
    feed_server, eager_celery, django_capture_on_commit_callbacks
):
    from digest.tasks.beat import feeds_ingest_due_task

    due = feed_make(kind="rss", url=feed_server.serve("/lab.xml", Reply(body=fixture_bytes("lab_feed_rss2.xml"))))
    later = feed_make(kind="rss", url=feed_server.url("/lab.xml"), next_fetch_at=datetime(2999, 1, 1, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queued = feeds_ingest_due_task()

    assert queued == [due.pk]
    assert len(callbacks) == 1
    assert FeedRun.objects.get(feed=due).status == "partial"
    assert not FeedRun.objects.filter(feed=later).exists()
    assert Paper.objects.filter(feed=due).count() == 4


def test_the_fetch_task_for_a_feed_that_is_no_longer_due_does_nothing(feed_server, eager_celery):
    from digest.tasks.ingest import feed_ingest_task

    feed = feed_make(kind="rss", url=feed_server.url("/lab.xml"), next_fetch_at=datetime(2999, 1, 1, tzinfo=UTC))
    assert feed_ingest_task.delay(feed.pk, only_if_due=True).get() is None
    assert feed_server.requests == []
