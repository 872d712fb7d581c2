"""Trending digests (issue 19): the window's top N by upvotes, ties by the documented rule, never twice.

Personas: Tess wants the day's trending papers and nothing else; Vic only in computer vision; Ada
(diffusion) switched the "Trending today" section on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.delivery.plan import deliveries_plan
from digest.models import Delivery, DeliveryRun, SentPaper, Subscription
from digest.selectors.trending import TrendingPaper, trending_papers, trending_rank
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.django_db


def _now() -> datetime:
    return datetime.now(UTC)


def _hf(title: str, upvotes: int | None, *, comments: int = 0, categories: list[str] | None = None, hours: float = 1):
    return paper_make(
        title=title,
        popularity=upvotes,
        num_comments=comments,
        categories=categories or ["cs.LG"],
        ingested_at=_now() - timedelta(hours=hours),
        hf_url="https://huggingface.co/papers/2401.00001",
    )


def _trending_reader(email: str, *, n: int = 3, categories: list[str] | None = None) -> Subscription:
    return subscriber_make(
        email=email,
        interests=[],
        max_papers=n,
        send_hour=_now().hour,
        digest=Subscription.Digest.TRENDING,
        trending_categories=categories or [],
    )


def _planned(sub: Subscription) -> Delivery:
    return Delivery.objects.get(subscription=sub, kind=Delivery.Kind.DIGEST, run__isnull=False)


def test_ties_go_to_more_comments_then_to_the_paper_ingested_first():
    papers = [
        TrendingPaper(key=5, upvotes=10, comments=0, rank=0, categories=()),
        TrendingPaper(key=3, upvotes=10, comments=0, rank=0, categories=()),
        TrendingPaper(key=9, upvotes=10, comments=4, rank=0, categories=()),
        TrendingPaper(key=1, upvotes=2, comments=9, rank=0, categories=()),
        TrendingPaper(key=7, upvotes=40, comments=0, rank=0, categories=()),
    ]
    ranked = trending_rank(papers)
    assert [(p.key, p.rank) for p in ranked] == [(7, 1), (9, 2), (3, 3), (5, 4), (1, 5)]


def test_a_trending_subscriber_gets_exactly_the_top_n_by_upvotes_of_the_window():
    top = _hf("Most upvoted", 128)
    tie_first = _hf("Tied, ingested first", 50)
    tie_second = _hf("Tied, ingested second", 50)
    _hf("Fourth", 12)
    _hf("No upvotes known", None)
    _hf("Yesterday's window", 900, hours=30)
    tess = _trending_reader("tess@example.org", n=3)

    plan = deliveries_plan()

    delivery = _planned(tess)
    assert delivery.state == Delivery.State.PENDING
    assert [e["paper"] for e in delivery.content] == [top.id, tie_first.id, tie_second.id]
    assert [(e["upvotes"], e["rank"], e["trending"]) for e in delivery.content] == [
        (128, 1, True),
        (50, 2, True),
        (50, 3, True),
    ]
    assert plan.trending == 1 and DeliveryRun.objects.get().trending == 1


def test_a_second_planner_counts_no_trending_digest_the_first_one_wrote(monkeypatch):
    _hf("Most upvoted", 128)
    _trending_reader("tess@example.org", n=1)
    from digest.delivery.plan import shards as plan_module

    # Both planners read the due subscribers (their shards, then the shard's candidates) at once.
    shards = plan_module.plan_shards(now=_now())
    seen = plan_module.candidates_due(now=_now())
    monkeypatch.setattr(plan_module, "plan_shards", lambda **_: shards)
    monkeypatch.setattr(plan_module, "candidates_due", lambda **_: seen)
    first, second = deliveries_plan(), deliveries_plan()

    assert (first.planned, first.trending) == (1, 1)
    assert (second.planned, second.trending) == (0, 0), "its row was the first planner's"
    assert sorted(DeliveryRun.objects.values_list("trending", flat=True)) == [0, 1]


def test_a_paper_already_sent_is_skipped_and_the_next_one_moves_up():
    first = _hf("Was on yesterday's list", 300)
    second = _hf("Second", 200)
    third = _hf("Third", 100)
    tess = _trending_reader("tess@example.org", n=2)
    SentPaper.objects.create(subscription=tess, paper=first)

    deliveries_plan()

    content = _planned(tess).content
    assert [e["paper"] for e in content] == [second.id, third.id]
    assert [e["rank"] for e in content] == [2, 3], "the rank stays the paper's place on the day's list"


def test_a_category_filter_keeps_only_those_categories():
    _hf("Language", 500, categories=["cs.CL"])
    vision = _hf("Vision", 90, categories=["cs.CV"])
    cross = _hf("Vision and learning", 80, categories=["cs.LG", "cs.CV"])
    _hf("Robots", 70, categories=["cs.RO"])
    vic = _trending_reader("vic@example.org", n=5, categories=["cs.CV"])

    deliveries_plan()

    content = _planned(vic).content
    assert [e["paper"] for e in content] == [vision.id, cross.id]
    assert [e["rank"] for e in content] == [2, 3], "#2 on the whole day's list, whatever the filter"


def test_hidden_papers_and_merged_duplicates_never_trend():
    hidden = _hf("Hidden by a moderator", 999)
    hidden.hidden = True
    hidden.save()
    kept = _hf("Kept", 5)
    duplicate = _hf("Merged duplicate", 700)
    duplicate.duplicate_of = kept
    duplicate.save()

    ranked = trending_papers(start=_now() - timedelta(days=1), end=_now())

    assert [p.key for p in ranked] == [kept.id]


def test_the_trending_section_never_repeats_a_personal_match():
    match = _hf("Video diffusion at scale", 400)
    other = _hf("A theorem prover", 300)
    third = _hf("Protein folding", 200)
    _hf("Fourth", 100)
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"], send_hour=_now().hour, trending_section=2)
    keyword_only = subscriber_make(email="bo@example.org", interests=["diffusion"], send_hour=_now().hour)

    plan = deliveries_plan()

    content = _planned(ada).content
    assert [(e["paper"], bool(e.get("trending"))) for e in content] == [
        (match.id, False),
        (other.id, True),
        (third.id, True),
    ]
    assert [e["paper"] for e in _planned(keyword_only).content] == [match.id]
    assert plan.trending == 0, "a keyword digest with a trending section is not a trending digest"


def test_trending_subscribers_share_one_list_per_window_and_categories(monkeypatch):
    for i in range(5):
        _hf(f"Paper {i}", 10 * i)
    readers = [_trending_reader(f"t{i}@example.org", n=2) for i in range(20)]

    from digest.delivery import trending as delivery_trending

    reads: list[tuple] = []
    original = delivery_trending.trending_papers

    def counting(**kwargs):
        reads.append(tuple(sorted(kwargs.items())))
        return original(**kwargs)

    monkeypatch.setattr(delivery_trending, "trending_papers", counting)
    deliveries_plan()

    assert len(reads) == 1, "twenty subscribers, one window, one category set: one list"
    contents = [_planned(r).content for r in readers]
    assert all(c == contents[0] for c in contents) and len(contents[0]) == 2


def test_subscribers_with_different_windows_each_get_their_own_windows_list():
    """Ranks are places on a window's list: a paper ranks #2 in a two-day window and #1 in today's."""
    old = _hf("Two days old, most upvoted", 900, hours=40)
    today = _hf("Today's top", 50, hours=1)
    tess = _trending_reader("tess@example.org", n=2)
    back = _trending_reader("back@example.org", n=2)
    # Back's last digest went out two and a half days ago: their window starts there.
    Delivery.objects.create(
        subscription=back,
        slot=(_now() - timedelta(days=3)).date(),
        state=Delivery.State.SENT,
        window_end=_now() - timedelta(hours=60),
    )

    deliveries_plan()

    assert [(e["paper"], e["rank"]) for e in _planned(tess).content] == [(today.id, 1)]
    assert [(e["paper"], e["rank"]) for e in _planned(back).content] == [(old.id, 1), (today.id, 2)]
