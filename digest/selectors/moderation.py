"""Reads the moderation screens need: planned digests holding a paper, feed health numbers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection
from django.db.models import Count, QuerySet
from django.db.models.functions import Lower

from digest.models import Delivery, Feed, FeedRun, Paper, SentPaper, Suppression


def deliveries_pending_with_paper(*, paper_id: int) -> QuerySet[Delivery]:
    """Planned, unsent digests whose stored content includes the paper."""
    pending = Delivery.objects.filter(state=Delivery.State.PENDING)
    if connection.features.supports_json_field_contains:
        # jsonb containment: [{"paper": 42}] @> matches any entry whose "paper" is 42.
        return pending.filter(content__contains=[{"paper": paper_id}])
    # SQLite (make demo) has no JSON containment; the pending queue there is small.
    ids = [
        pk for pk, content in pending.values_list("pk", "content") if any(e.get("paper") == paper_id for e in content)
    ]
    return Delivery.objects.filter(pk__in=ids)


def papers_recent_counts(*, feed_ids: Iterable[int], since: datetime) -> dict[int, int]:
    """Papers ingested since ``since``, per feed, for the feeds shown (one grouped query)."""
    rows = (
        Paper.objects.filter(feed_id__in=list(feed_ids), ingested_at__gte=since)
        .order_by()
        .values("feed_id")
        .annotate(n=Count("pk"))
    )
    return {row["feed_id"]: row["n"] for row in rows}


def paper_recipients_counts(*, paper_ids: Iterable[int]) -> dict[int, int]:
    """How many subscribers each paper was sent to, for the papers shown (one grouped query).

    Deliberately not a correlated subquery in the list's SELECT: PostgreSQL evaluates those for every
    row skipped by OFFSET too, and their cost estimate over a million rows switches on JIT compilation.
    """
    rows = SentPaper.objects.filter(paper_id__in=list(paper_ids)).order_by().values("paper_id").annotate(n=Count("pk"))
    return {row["paper_id"]: row["n"] for row in rows}


def feeds_suggested_by(*, user, limit: int = 20) -> list[Feed]:
    """The person's own latest suggestions, newest first (the suggest page lists them with their state)."""
    return list(Feed.objects.filter(suggested_by=user).order_by("-created_at")[:limit])


def feed_runs_recent(*, feed_id: int, limit: int = 10) -> list[FeedRun]:
    """The feed's latest fetches, newest first (its admin page shows them)."""
    return list(FeedRun.objects.filter(feed_id=feed_id).order_by("-started_at")[:limit])


def suppressions_active_for(*, emails: Iterable[str]) -> QuerySet[Suppression]:
    """The active suppressions of these addresses, whatever the case of either spelling (one query)."""
    wanted = {email.strip().lower() for email in emails if email.strip()}
    return (
        Suppression.objects.annotate(email_folded=Lower("email"))
        .filter(active=True, email_folded__in=wanted)
        .order_by("id")
    )
