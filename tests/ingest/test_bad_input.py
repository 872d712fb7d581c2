"""Sources send junk: every bad response ends as a failed run with a clear reason, the feed backs off,
other feeds carry on, and nothing already stored is lost or changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from digest.models import FeedRun, Paper
from digest.services.ingest.runs import feed_ingest, feed_is_flagged, feeds_due, feeds_ingest_due
from tests.factories import paper_make
from tests.ingest.conftest import ArxivEntry, Reply, arxiv_api_feed, feed_make, fixture_bytes, hf_daily_items

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@dataclass
class BadCase:
    kind: str
    path: str
    reply: Reply
    reason: str
    categories: str = "cs.LG"


def _truncated_hf() -> bytes:
    body = hf_daily_items([{"arxiv_id": "2611.00001", "title": "A title", "abstract": "An abstract.", "upvotes": 3}])
    return body[: len(body) // 2]


BAD = {
    "malformed XML": BadCase(
        "arxiv", "/api/query", Reply(body=fixture_bytes("malformed.xml")), "malformed XML in an arXiv API Atom feed"
    ),
    "an HTML error page served with 200": BadCase(
        "rss",
        "/feed.xml",
        Reply(body=fixture_bytes("html_error_page.html"), content_type="text/html"),
        "got an HTML page instead of an RSS/Atom feed",
    ),
    "an HTML error page to the arXiv API": BadCase(
        "arxiv",
        "/api/query",
        Reply(body=fixture_bytes("html_error_page.html"), content_type="text/html"),
        "got an HTML page",
    ),
    "truncated JSON": BadCase(
        "hf_daily",
        "/api/daily_papers",
        Reply(body=_truncated_hf(), content_type="application/json"),
        "invalid JSON (truncated?) in the Hugging Face daily papers response",
    ),
    "an empty feed body": BadCase(
        "rss", "/feed.xml", Reply(body=b""), "empty response where an RSS/Atom feed was expected"
    ),
    "an XML bomb": BadCase(
        "arxiv_rss", "/atom/cs.LG", Reply(body=fixture_bytes("xml_bomb.xml")), "it declares XML entities"
    ),
    "an external entity": BadCase(
        "arxiv", "/api/query", Reply(body=fixture_bytes("xxe.xml")), "declares XML entities or external references"
    ),
    "an external entity in RSS": BadCase(
        "rss", "/feed.xml", Reply(body=fixture_bytes("xxe.xml")), "declares XML entities"
    ),
    "a 50 MB response": BadCase(
        "rss", "/feed.xml", Reply(stream_bytes=50 * 1024 * 1024, announce_length=False), "response too large"
    ),
    "a connection that stalls past the timeout": BadCase(
        "hf_daily", "/api/daily_papers", Reply(stall=30), "timed out after 0.2s"
    ),
    "a 404": BadCase(
        "rss",
        "/feed.xml",
        Reply(status=404, body=b"<h1>Not Found</h1>", content_type="text/html"),
        "HTTP 404 Not Found",
    ),
    "persistent server errors": BadCase(
        "rss", "/feed.xml", Reply(status=500, body=b"boom"), "HTTP 500 Internal Server Error (gave up after 3 attempts)"
    ),
    "not a feed at all": BadCase(
        "rss", "/feed.xml", Reply(body=b"hello, world", content_type="text/plain"), "could not read an RSS/Atom feed"
    ),
    "an arXiv category that is not one": BadCase(
        "arxiv", "/api/query", Reply(body=b""), "not an arXiv category", categories="cs.LG;DROP"
    ),
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_bad_input_fails_the_run_with_a_clear_reason_and_changes_nothing_stored(feed_server, fast_http, case):
    fast_http.PAPERBOY_HTTP_TIMEOUT = 0.2
    fast_http.PAPERBOY_HTTP_RETRIES = 2 if "stall" not in case.reason else 0
    kept = paper_make(title="A paper we already have", external_id="2611.00001", popularity=7)
    before = Paper.objects.values().get(pk=kept.pk)
    url = feed_server.serve(case.path, case.reply)
    if case.kind in {"arxiv_rss"}:
        url = feed_server.url("/atom")
    feed = feed_make(kind=case.kind, url=url, categories=case.categories, params={"days": 1})

    run = feed_ingest(feed_id=feed.pk, now=NOW)

    feed.refresh_from_db()
    assert run.status == FeedRun.Status.FAILED
    assert case.reason in run.error
    assert run.finished_at is not None
    assert (feed.last_status, feed.consecutive_failures, feed.last_error) == ("failed", 1, run.error)
    assert feed.next_fetch_at > NOW
    assert Paper.objects.count() == 1
    assert Paper.objects.values().get(pk=kept.pk) == before


def test_a_429_with_a_long_retry_after_fails_now_and_is_not_fetched_again_before_then(feed_server):
    url = feed_server.serve("/feed.xml", Reply(status=429, headers={"Retry-After": "7200"}))
    feed = feed_make(kind="rss", url=url, cadence_minutes=30)
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    feed.refresh_from_db()
    assert (run.status, run.http_status) == ("failed", 429)
    assert feed.next_fetch_at == NOW + timedelta(hours=2)
    assert feeds_due(now=NOW + timedelta(hours=1)) == []


def test_a_429_with_a_short_retry_after_is_waited_out_and_the_run_succeeds(feed_server, fast_http):
    fast_http.PAPERBOY_HTTP_MAX_RETRY_AFTER = 5
    body = fixture_bytes("lab_feed_rss2.xml")
    url = feed_server.serve("/feed.xml", Reply(status=429, headers={"Retry-After": "0"}), Reply(body=body))
    feed = feed_make(kind="rss", url=url)
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    assert (run.status, run.new) == ("partial", 4)
    assert len(feed_server.hits("/feed.xml")) == 2


def test_a_500_then_success_ends_as_a_normal_run(feed_server, corpus):
    body = arxiv_api_feed([ArxivEntry(arxiv_id="2611.00005", title=corpus[5].title, abstract=corpus[5].abstract)])
    url = feed_server.serve("/api/query", Reply(status=500, body=b"oops"), Reply(body=body))
    feed = feed_make(kind="arxiv", url=url, categories="cs.LG")
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    assert (run.status, run.new, run.http_status) == ("ok", 1, 200)


def test_a_feed_failing_n_times_in_a_row_is_flagged_backs_off_and_recovers(feed_server, fast_http):
    url = feed_server.serve("/feed.xml", Reply(status=404))
    feed = feed_make(kind="rss", url=url, cadence_minutes=60)
    delays = []
    for n in range(3):
        now = NOW + timedelta(days=n)
        feed_ingest(feed_id=feed.pk, now=now)
        feed.refresh_from_db()
        delays.append(feed.next_fetch_at - now)
    assert delays == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert feed.consecutive_failures == 3
    assert feed_is_flagged(feed)

    feed_server.serve("/feed.xml", Reply(body=fixture_bytes("lab_feed_rss2.xml")))
    feed_ingest(feed_id=feed.pk, now=NOW + timedelta(days=5))
    feed.refresh_from_db()
    assert feed.consecutive_failures == 0
    assert not feed_is_flagged(feed)


def test_one_broken_feed_does_not_stop_the_others(feed_server, corpus):
    broken = feed_make(
        kind="rss", url=feed_server.serve("/broken.xml", Reply(body=fixture_bytes("malformed.xml")[:40]))
    )
    good_body = arxiv_api_feed([ArxivEntry(arxiv_id="2611.00005", title=corpus[5].title, abstract=corpus[5].abstract)])
    good = feed_make(kind="arxiv", url=feed_server.serve("/api/query", Reply(body=good_body)), categories="cs.LG")

    ran = feeds_ingest_due(now=NOW)

    assert sorted(ran) == sorted([broken.pk, good.pk])
    assert FeedRun.objects.get(feed=broken).status == "failed"
    assert FeedRun.objects.get(feed=good).status == "ok"
    assert Paper.objects.filter(external_id="2611.00005").exists()


def test_an_adapter_bug_is_recorded_as_a_failed_run_instead_of_escaping(feed_server, monkeypatch):
    from digest.ingest import ADAPTERS

    def broken_adapter(**kwargs):
        raise KeyError("surprise")

    monkeypatch.setitem(ADAPTERS, "rss", broken_adapter)
    feed = feed_make(kind="rss", url=feed_server.url("/feed.xml"))
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    assert run.status == "failed"
    assert run.error == "unexpected error: KeyError: 'surprise'"


def test_an_xhtml_error_page_is_not_taken_for_a_feed(feed_server):
    page = (
        b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Error</title></head><body><p>x</p></body></html>'
    )
    feed = feed_make(kind="rss", url=feed_server.serve("/feed.xml", Reply(body=page)))
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    assert run.status == "failed"
    assert run.error == "not an RSS/Atom feed: no <rss> or <feed> element found"
