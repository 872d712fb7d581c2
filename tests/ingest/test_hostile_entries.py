"""One hostile entry loses only itself, and one feed cannot flood the digests (security review L9, L10)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from digest.models import Feed, FeedRun, Paper
from digest.services.ingest.runs import feed_ingest
from tests.ingest.conftest import Reply, feed_make, hf_daily_items

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
JSON = "application/json; charset=utf-8"


def papers(n: int) -> list[dict]:
    return [
        {"arxiv_id": f"2611.{i:05d}", "title": f"Paper number {i} on diffusion", "abstract": "An abstract."}
        for i in range(1, n + 1)
    ]


def hf_run(feed_server, body: bytes) -> FeedRun:
    feed_server.serve("/api/daily_papers", Reply(body=body, content_type=JSON))
    feed = feed_make(kind="hf_daily", url=feed_server.url("/api/daily_papers"), params={"days": 1})
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    assert run is not None
    return run


def with_third_item(raw_third: str) -> bytes:
    """Five good items as the real API sends them, the third replaced by ``raw_third`` (raw JSON text)."""
    items = json.loads(hf_daily_items(papers(5)))
    parts = [json.dumps(item) for item in items]
    parts[2] = raw_third
    return ("[" + ",\n".join(parts) + "]").encode()


def upvotes_item(raw_number: str) -> str:
    item = json.loads(hf_daily_items(papers(3)))[2]
    item["paper"]["upvotes"] = 0
    return json.dumps(item).replace('"upvotes": 0', f'"upvotes": {raw_number}')


@pytest.mark.parametrize(
    ("case", "third", "reason"),
    [
        ("upvotes 10**30", upvotes_item(str(10**30)), "upvotes has 31 digits"),
        ("upvotes with 100,001 digits", upvotes_item("9" * 100_001), "upvotes has 100001 digits"),
        ("upvotes past the column", upvotes_item(str(2**40)), "out of range"),
        ("an array 100,000 deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_one_hostile_hugging_face_entry_is_skipped_and_the_others_land(feed_server, case, third, reason):
    run = hf_run(feed_server, with_third_item(third))

    assert run.status == FeedRun.Status.PARTIAL, run.error
    assert run.new == 4
    assert Paper.objects.count() == 4
    [skip] = run.skipped_reasons
    assert reason in skip["reason"]


def test_a_feed_run_stores_at_most_the_cap_and_says_how_many_more_there_were(feed_server, settings):
    settings.PAPERBOY_FEED_MAX_PAPERS_PER_RUN = 30
    run = hf_run(feed_server, hf_daily_items(papers(80)))

    assert run.status == FeedRun.Status.PARTIAL
    assert (run.new, Paper.objects.count()) == (30, 30)
    assert run.skipped_reasons[-1]["entry"] == "50 more entries"
    assert "stopped at 30 papers" in run.skipped_reasons[-1]["reason"]


def test_an_operator_can_raise_the_cap_for_one_big_feed(feed_server, settings):
    settings.PAPERBOY_FEED_MAX_PAPERS_PER_RUN = 30
    feed_server.serve("/api/daily_papers", Reply(body=hf_daily_items(papers(80)), content_type=JSON))
    feed = Feed.objects.create(
        name="big", kind="hf_daily", url=feed_server.url("/api/daily_papers"),
        params={"days": 1, "max_papers_per_run": 100},
    )  # fmt: skip
    run = feed_ingest(feed_id=feed.pk, now=NOW)
    assert (run.status, run.new) == (FeedRun.Status.OK, 80)
