"""Bounded storage: what a digest row keeps once it is old.

A ``Delivery`` row's ``content`` holds each paper's snippet and highlight spans so the archive shows
the email as it was sent. After ``PAPERBOY_DELIVERY_PRUNE_DAYS`` a sent digest keeps what is still
needed -- which papers, why they matched (the archive lists them, the feedback links and the learned
ranking read the reasons), the score -- and drops the snippets and spans (the archive then shows each
paper without its highlighted excerpt). Rows of digests that never went out (skipped, expired,
cancelled) are deleted. The never-twice ledger is ``SentPaper``, which is not touched, and paper
windows never look back further than ``MAX_WINDOW``, so nothing planning reads is pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from digest.content import content_pruned
from digest.db import in_batches
from digest.delivery.schedule import MAX_WINDOW
from digest.models import Delivery

PRUNE_BATCH = 2000
# Rows are looked at for this long after they become old enough, so a beat that was down catches up
# without every run re-reading the whole history.
CATCH_UP = timedelta(days=7)
NEVER_SENT = (Delivery.State.SKIPPED, Delivery.State.EXPIRED, Delivery.State.CANCELLED)


@dataclass
class PruneResult:
    trimmed: int = 0
    deleted: int = 0

    def summary(self) -> dict:
        return {"trimmed": self.trimmed, "deleted": self.deleted}


def prune_cutoff(*, now: datetime, days: int) -> datetime:
    """Never younger than the longest paper window: the planner reads the last digest's window end."""
    return now - max(timedelta(days=days), max(MAX_WINDOW.values()) + timedelta(days=1))


def deliveries_prune(*, now: datetime | None = None, days: int | None = None) -> PruneResult:
    """Trim sent digests planned before the cutoff and delete the never-sent ones; 0 days = off."""
    now = now or timezone.now()
    days = settings.PAPERBOY_DELIVERY_PRUNE_DAYS if days is None else days
    result = PruneResult()
    if days <= 0:
        return result
    cutoff = prune_cutoff(now=now, days=days)
    old = Delivery.objects.filter(kind=Delivery.Kind.DIGEST, planned_at__lt=cutoff)
    result.deleted = old.filter(state__in=NEVER_SENT).delete()[0]
    recent_old = old.filter(planned_at__gte=cutoff - CATCH_UP).exclude(state__in=NEVER_SENT)
    ids = list(recent_old.order_by("id").values_list("id", flat=True))
    for batch in in_batches(ids, PRUNE_BATCH):
        result.trimmed += _trim(batch)
    return result


def _trim(ids: Sequence[int]) -> int:
    """Replace each row's content by its pruned form (rows pruned already are left alone)."""
    if connection.vendor == "postgresql":
        # In the database: no JSON travels to Python and back. Same result as content_pruned (tested).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE digest_delivery SET content = COALESCE(("
                "  SELECT jsonb_agg(e - 'snippet' - 'snippet_spans' - 'title_spans' ORDER BY n)"
                "  FROM jsonb_array_elements(content) WITH ORDINALITY AS t(e, n)), '[]'::jsonb) "
                "WHERE id = ANY(%s) AND jsonb_path_exists(content, '$[*] ? (exists(@.snippet))')",
                [list(ids)],
            )
            return cursor.rowcount
    changed = 0
    with transaction.atomic():
        for delivery in Delivery.objects.filter(id__in=list(ids)).only("id", "content"):
            pruned = content_pruned(delivery.content)
            if pruned != delivery.content:
                Delivery.objects.filter(id=delivery.id).update(content=pruned)
                changed += 1
    return changed
