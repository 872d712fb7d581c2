"""Reconcile what a lost worker left behind; expire slots whose send window passed.

The policy (docs/DELIVERY.md, "Reconciliation"), in short:

* Each SMTP connection of a worker claims one row at a time and commits ``sending`` before it opens
  the SMTP transaction for it, then commits ``sent`` right after the server's 250. So a dead worker
  leaves at most one row in ``sending`` per connection (``PAPERBOY_SMTP_CONNECTIONS``), and every
  other row it touched is either ``sent`` (never sent again) or still ``pending`` (never
  transmitted: safe to send).
* A row that stays ``sending`` past ``PAPERBOY_SENDING_TIMEOUT`` -- far longer than any SMTP
  transaction can last, since every socket operation times out after EMAIL_TIMEOUT -- belongs to a
  worker that died. Its transmission may have been cut anywhere; only if it died in the instant
  between the server's final 250 and our commit did the message arrive. That row is sent again,
  once, with the *same* Message-ID (fixed at planning), so in that rare case the recipient's mail
  system sees a copy of a message it already has and most clients fold the two. Losing the digest
  is the worse outcome, so the default resends rather than guesses.
* It is not resent when its window has passed or its attempts are used up: then it ends
  ``failed`` with "outcome unknown", visible to the admin.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from digest.delivery.state import deliveries_expire, delivery_lost_fail, delivery_lost_requeue
from digest.models import Delivery, DeliveryRun

logger = logging.getLogger(__name__)


@dataclass
class SweepResult:
    expired: int = 0
    resent: int = 0
    unknown: int = 0
    runs_finished: int = 0


def deliveries_sweep(*, now: datetime | None = None) -> SweepResult:
    """One pass of the sweeper; safe to run from several processes at once (every write is conditional)."""
    now = now or timezone.now()
    result = SweepResult(expired=deliveries_expire(now=now))
    stale_before = now - timedelta(seconds=settings.PAPERBOY_SENDING_TIMEOUT)
    stuck = Delivery.objects.filter(state=Delivery.State.SENDING, claimed_at__lt=stale_before).order_by("id")
    for delivery in stuck.only("id", "claim_token", "claimed_at", "attempts", "expires_at", "to_email"):
        outcome = delivery_reconcile(delivery=delivery, now=now)
        if outcome == Delivery.State.PENDING:
            result.resent += 1
        elif outcome == Delivery.State.FAILED:
            result.unknown += 1
    result.runs_finished = runs_finish(now=now)
    if result.resent or result.unknown:
        logger.warning(
            "sweeper: %s row(s) left in sending by a lost worker: %s queued again, %s failed (outcome unknown)",
            result.resent + result.unknown,
            result.resent,
            result.unknown,
        )
    return result


def delivery_reconcile(*, delivery: Delivery, now: datetime) -> str | None:
    """Decide one stuck row; returns the new state, or None when someone else got there first."""
    claimed = f"{delivery.claimed_at:%Y-%m-%d %H:%M:%S}" if delivery.claimed_at else "?"
    window_passed = delivery.expires_at is not None and delivery.expires_at <= now
    if window_passed or delivery.attempts >= settings.PAPERBOY_MAX_ATTEMPTS:
        why = "its send window has passed" if window_passed else "its attempts are used up"
        error = f"outcome unknown: the worker was lost during SMTP (claimed {claimed} UTC); not resent because {why}"
        return Delivery.State.FAILED if delivery_lost_fail(delivery=delivery, error=error) else None
    error = f"the worker was lost during SMTP (claimed {claimed} UTC); sending again with the same Message-ID"
    return Delivery.State.PENDING if delivery_lost_requeue(delivery=delivery, now=now, error=error) else None


def runs_finish(*, now: datetime) -> int:
    """Stamp ``finished_at`` on runs with nothing left pending or sending."""
    open_rows = Delivery.objects.filter(
        run_id=OuterRef("id"), state__in=[Delivery.State.PENDING, Delivery.State.SENDING]
    )
    return DeliveryRun.objects.filter(finished_at__isnull=True).exclude(Exists(open_rows)).update(finished_at=now)
