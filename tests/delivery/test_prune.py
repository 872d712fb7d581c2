"""Bounded storage: old digest rows keep what the archive and the feedback links need, the rest goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from digest.content import content_pruned
from digest.delivery import prune
from digest.delivery.prune import deliveries_prune
from digest.models import Delivery, SentPaper
from tests.factories import paper_make, subscriber_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
ENTRY = {
    "paper": 1,
    "score": 2.5,
    "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}],
    "title_spans": [[0, 9]],
    "snippet": "We study diffusion models for video.",
    "snippet_spans": [[9, 18]],
    "suggested": False,
}


def digest_row(sub, *, days_ago: int, state: str, slot_offset: int = 0) -> Delivery:
    planned = NOW - timedelta(days=days_ago)
    return Delivery.objects.create(
        subscription=sub,
        slot=(planned + timedelta(days=slot_offset)).date(),
        state=state,
        planned_at=planned,
        content=[dict(ENTRY), {**ENTRY, "paper": 2, "suggested": True}],
        paper_count=2,
    )


def test_old_sent_digests_keep_their_papers_and_reasons_and_never_sent_ones_go():
    ada = subscriber_make(email="ada@example.org", interests=["diffusion"])
    paper = paper_make(title="Diffusion", abstract="diffusion")
    old_sent = digest_row(ada, days_ago=33, state=Delivery.State.SENT)
    SentPaper.objects.create(subscription=ada, paper=paper, delivery=old_sent)
    old_skipped = digest_row(ada, days_ago=41, state=Delivery.State.SKIPPED)
    old_expired = digest_row(ada, days_ago=42, state=Delivery.State.EXPIRED)
    recent = digest_row(ada, days_ago=3, state=Delivery.State.SENT)

    result = deliveries_prune(now=NOW, days=30)

    assert result.summary() == {"trimmed": 1, "deleted": 2}
    assert not Delivery.objects.filter(id__in=[old_skipped.id, old_expired.id]).exists()
    old_sent.refresh_from_db()
    assert old_sent.content == [
        {"paper": 1, "score": 2.5, "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}], "suggested": False},
        {"paper": 2, "score": 2.5, "reasons": [{"interest": "diffusion", "terms": ["diffusion"]}], "suggested": True},
    ]
    recent.refresh_from_db()
    assert recent.content[0]["snippet"] == ENTRY["snippet"], "recent rows are untouched"
    assert SentPaper.objects.filter(subscription=ada).count() == 1, "the never-twice ledger is kept"
    # Running it again changes nothing.
    assert deliveries_prune(now=NOW, days=30).summary() == {"trimmed": 0, "deleted": 0}


def test_pruning_is_off_at_zero_days_and_never_reaches_into_the_paper_windows():
    bo = subscriber_make(email="bo@example.org", interests=["x"])
    row = digest_row(bo, days_ago=10, state=Delivery.State.SKIPPED)
    assert deliveries_prune(now=NOW, days=0).summary() == {"trimmed": 0, "deleted": 0}
    # 1 day asked: still kept, because the planner reads window ends up to 14 days back.
    assert deliveries_prune(now=NOW, days=1).summary() == {"trimmed": 0, "deleted": 0}
    assert Delivery.objects.filter(id=row.id).exists()


def test_the_database_trim_writes_what_content_pruned_writes(monkeypatch):
    cy = subscriber_make(email="cy@example.org", interests=["x"])
    a = digest_row(cy, days_ago=33, state=Delivery.State.SENT)
    b = digest_row(cy, days_ago=33, state=Delivery.State.FAILED, slot_offset=1)
    expected = content_pruned(a.content)
    deliveries_prune(now=NOW, days=30)  # PostgreSQL: in SQL; SQLite: content_pruned itself
    a.refresh_from_db()
    assert a.content == expected
    if connection.vendor == "postgresql":
        monkeypatch.setattr(prune.connection, "vendor", "sqlite")
        Delivery.objects.filter(id=b.id).update(content=[dict(ENTRY), {**ENTRY, "paper": 2, "suggested": True}])
        assert prune._trim([b.id]) == 1
        b.refresh_from_db()
        assert b.content == expected
