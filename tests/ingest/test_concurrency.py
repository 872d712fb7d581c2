"""Two workers, one feed: one run at a time, and never a paper inserted twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from digest.ingest.records import PaperRecord
from digest.models import FeedRun, Paper
from digest.services.ingest.runs import feed_ingest
from digest.services.ingest.store import papers_store
from tests.ingest.conftest import ArxivEntry, Reply, arxiv_api_feed, feed_make

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def run_in_threads(target, count: int) -> list:
    """Start ``count`` threads together (each with its own DB connection) and collect their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return results


@pytest.mark.django_db
def test_a_feed_already_running_is_not_started_again():
    feed = feed_make(kind="rss", url="http://127.0.0.1:9/feed.xml")
    FeedRun.objects.create(feed=feed, started_at=NOW - timedelta(minutes=5))
    assert feed_ingest(feed_id=feed.pk, now=NOW) is None
    assert FeedRun.objects.filter(feed=feed).count() == 1


@pytest.mark.django_db
def test_a_run_abandoned_by_a_dead_worker_is_closed_and_the_feed_runs_again(feed_server, fast_http):
    fast_http.PAPERBOY_FEED_LEASE_SECONDS = 600
    url = feed_server.serve("/feed.xml", Reply(body=b"<rss version='2.0'><channel><title>x</title></channel></rss>"))
    feed = feed_make(kind="rss", url=url)
    stale = FeedRun.objects.create(feed=feed, started_at=NOW - timedelta(hours=1))
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    stale.refresh_from_db()
    assert run.status == "ok"
    assert stale.status == "failed"
    assert stale.error.startswith("abandoned")


@pytest.mark.django_db(transaction=True)
def test_two_workers_ingesting_the_same_feed_at_once_make_one_run_and_no_duplicates(
    postgres_db, feed_server, fast_http, corpus
):
    body = arxiv_api_feed(
        [ArxivEntry(arxiv_id=f"2611.{n:05d}", title=corpus[n].title, abstract=corpus[n].abstract) for n in range(10)]
    )
    # The response takes a moment, so the second worker arrives while the first is still fetching.
    feed_server.serve("/api/query", Reply(body=body, stall=0.3))
    feed = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")

    runs = run_in_threads(lambda i: feed_ingest(feed_id=feed.pk, now=NOW), 2)

    started = [r for r in runs if r is not None]
    assert len(started) == 1
    assert started[0].status == "ok"
    assert FeedRun.objects.filter(feed=feed).count() == 1
    assert Paper.objects.count() == 10


@pytest.mark.django_db(transaction=True)
def test_storing_the_same_records_from_four_threads_inserts_each_paper_once(postgres_db, corpus):
    def records() -> list[PaperRecord]:
        out = [
            PaperRecord(source="arxiv", arxiv_id=f"2611.{n:05d}", version=1, title=corpus[n].title, abstract="x")
            for n in range(15)
        ]
        # No id at all: the title + first author key is the unique id that settles the race.
        out += [
            PaperRecord(source="rss", title=corpus[n].title, abstract="y", authors=["Grace Hopper"])
            for n in range(15, 25)
        ]
        return out

    results = run_in_threads(lambda i: papers_store(records=records()), 4)

    assert Paper.objects.count() == 25
    assert sum(r.new for r in results) == 25
    assert sum(r.new + r.updated + r.unchanged for r in results) == 4 * 25
