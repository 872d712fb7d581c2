"""Fresh upvotes for trending digests (issue 19): before a slot is planned, every upvote feed whose
cadence has passed is fetched, so no slot is planned on figures older than the feed's cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from digest.models import Paper
from digest.selectors.trending import UPVOTE_FEED_KINDS
from digest.services.ingest.runs import feed_ingest, feeds_refresh_stale
from tests.ingest.conftest import Reply, feed_make, hf_daily_items

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
JSON = "application/json; charset=utf-8"


def _serve(feed_server, upvotes: int) -> None:
    paper = {"arxiv_id": "2611.00001", "title": "Upvoted", "abstract": "An abstract.", "upvotes": upvotes}
    feed_server.serve("/api/daily_papers", Reply(body=hf_daily_items([paper]), content_type=JSON))


def test_an_upvote_feed_past_its_cadence_is_fetched_before_planning(feed_server):
    _serve(feed_server, 5)
    hf = feed_make(kind="hf_daily", url=feed_server.url("/api/daily_papers"), params={"days": 1}, cadence_minutes=60)
    with time_machine.travel(NOW, tick=False):
        feed_ingest(feed_id=hf.id, now=NOW)
    _serve(feed_server, 128)

    # Within the cadence: the figures are fresh enough, nothing is fetched.
    within = NOW + timedelta(minutes=59)
    with time_machine.travel(within, tick=False):
        assert feeds_refresh_stale(now=within, kinds=UPVOTE_FEED_KINDS) == []
    assert Paper.objects.get().popularity == 5

    # Past it: fetched at once, the planner reads today's count.
    later = NOW + timedelta(minutes=61)
    with time_machine.travel(later, tick=False):
        assert feeds_refresh_stale(now=later, kinds=UPVOTE_FEED_KINDS) == [hf.id]
    assert Paper.objects.get().popularity == 128


def test_only_upvote_feeds_are_fetched_before_planning(feed_server):
    arxiv = feed_make(kind="arxiv", url=feed_server.url("/api/query"), categories="cs.LG")
    with time_machine.travel(NOW, tick=False):
        assert feeds_refresh_stale(now=NOW, kinds=UPVOTE_FEED_KINDS) == []
    assert feed_server.hits("/api/query") == []
    arxiv.refresh_from_db()
    assert arxiv.last_fetched_at is None, "other feeds wait for the ingest beat"


def test_the_planning_beat_refreshes_stale_upvotes_first(feed_server):
    from digest.tasks.beat import digest_plan_task

    _serve(feed_server, 5)
    hf = feed_make(kind="hf_daily", url=feed_server.url("/api/daily_papers"), params={"days": 1})
    with time_machine.travel(NOW, tick=False):
        feed_ingest(feed_id=hf.id, now=NOW)
    _serve(feed_server, 300)

    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        digest_plan_task()

    assert Paper.objects.get().popularity == 300
