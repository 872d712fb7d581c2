"""Reads the moderation screens need: planned digests holding a paper, feed health numbers."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from digest.models import Delivery, Paper, SentPaper


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


def papers_recent_count(*, since: datetime) -> Subquery:
    """Per feed: papers ingested since ``since`` (a correlated subquery, evaluated for the shown rows only)."""
    counted = (
        Paper.objects.filter(feed=OuterRef("pk"), ingested_at__gte=since)
        .order_by()
        .values("feed")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def paper_recipients_count() -> Subquery:
    """Per paper: how many subscribers it was sent to (uses the SentPaper.paper index)."""
    counted = (
        SentPaper.objects.filter(paper=OuterRef("pk")).order_by().values("paper").annotate(n=Count("pk")).values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
