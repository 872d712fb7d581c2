"""Every change of ``Delivery.state``: the state machine has this one owner.

    pending ──claim──► sending ──server's 250──► sent
       │                  │
       │                  ├─ transient error, attempts left ──► pending (next_attempt_at later)
       │                  ├─ permanent error / attempts used up ──► failed
       │                  └─ worker lost (sweeper) ──► pending (same Message-ID) or failed (outcome unknown)
       ├─ send window passed ──► expired
       ├─ address on the suppression list ──► suppressed
       ├─ every paper hidden since planning ──► skipped
       └─ subscriber unsubscribed / account deleted ──► cancelled
    failed, sent, expired, suppressed, cancelled ──operator's resend / retry──► pending

A row is born ``pending``, ``skipped`` or ``expired`` by the planner (``digest.delivery.plan``); every
change after that is a function here. Each is a conditional UPDATE on the state it leaves, so of two
processes racing for a row exactly one wins, on every database. The PostgreSQL statement that records
a ``sent`` and claims the next row in one round trip sits next to the two ORM writes it must match
(tests run both paths), and spells its states from ``Delivery.State``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q

from digest.db import server_bound_cursor, single_statement_supported
from digest.models import Delivery, SentPaper

logger = logging.getLogger(__name__)

State = Delivery.State


# --- Claiming and recording a send ---------------------------------------------------------------


def delivery_claim(*, delivery: Delivery, token: str, now: datetime) -> bool:
    """Move one row pending → ``sending`` and commit, right before its SMTP transaction starts.

    A conditional UPDATE is atomic on every database: when two workers race for the row, exactly
    one wins. Claiming one row at a time (not a whole chunk) keeps the invariant the sweeper relies
    on: a worker has at most one row in ``sending``, the one whose transmission may be under way.
    """
    won = (
        Delivery.objects.filter(id=delivery.id, state=State.PENDING)
        .exclude(next_attempt_at__gt=now)
        .exclude(expires_at__lte=now)
        .update(state=State.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
    )
    if won:
        _claimed(delivery, token=token, now=now, attempts=delivery.attempts + 1)
    return bool(won)


def _claimed(delivery: Delivery, *, token: str, now: datetime, attempts: int) -> None:
    delivery.state = State.SENDING
    delivery.claim_token = token
    delivery.claimed_at = now
    delivery.attempts = attempts


def delivery_sent_write(
    *, delivery: Delivery, subject: str, paper_ids: Sequence[int], now: datetime, token: str
) -> bool:
    """The writes of ``sent`` (and the papers it carried); the caller holds the transaction."""
    # Pending too: a sweeper that wrongly took this worker for dead may have put the row back.
    updated = Delivery.objects.filter(
        id=delivery.id, claim_token=token, state__in=[State.SENDING, State.PENDING]
    ).update(state=State.SENT, sent_at=now, subject=subject[:255], last_error="", paper_count=len(paper_ids))
    if delivery.kind == Delivery.Kind.DIGEST:
        SentPaper.objects.bulk_create(
            [SentPaper(subscription_id=delivery.subscription_id, paper_id=pid, delivery=delivery) for pid in paper_ids],
            ignore_conflicts=True,
        )
    if not updated:
        logger.error(
            "delivery %s was accepted by the server but its claim was taken over meanwhile; "
            "PAPERBOY_SENDING_TIMEOUT is too short for this relay",
            delivery.id,
        )
    return bool(updated)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message the server accepted whose ``sent`` is not committed yet."""

    delivery: Delivery
    subject: str
    paper_ids: list[int]
    at: datetime


def delivery_sent_and_claim(*, sent: Accepted | None, claim: Delivery | None, token: str, now: datetime) -> bool:
    """Commit ``sent`` and claim ``claim`` (either may be None) in one transaction; True if the claim was won."""
    if single_statement_supported():
        return _sent_and_claim_postgres(sent=sent, claim=claim, token=token, now=now)
    with transaction.atomic():
        if sent is not None:
            delivery_sent_write(
                delivery=sent.delivery, subject=sent.subject, paper_ids=sent.paper_ids, now=sent.at, token=token
            )
        return claim is not None and delivery_claim(delivery=claim, token=token, now=now)


# Conditions identical to delivery_sent_write and delivery_claim (tests run both paths).
_SENT_AND_CLAIM_SQL = f"""
WITH sent AS (
    UPDATE {Delivery._meta.db_table}
    SET state = '{State.SENT.value}', sent_at = %(sent_at)s, subject = %(subject)s, last_error = '',
        paper_count = %(count)s
    WHERE id = %(sent_id)s AND claim_token = %(token)s AND state IN ('{State.SENDING.value}', '{State.PENDING.value}')
    RETURNING id
), papers AS (
    INSERT INTO {SentPaper._meta.db_table} (subscription_id, paper_id, delivery_id, sent_at)
    SELECT %(sub)s, paper, %(sent_id)s, %(sent_at)s FROM unnest(%(papers)s::bigint[]) AS paper
    ON CONFLICT DO NOTHING
), claimed AS (
    UPDATE {Delivery._meta.db_table}
    SET state = '{State.SENDING.value}', claim_token = %(token)s, claimed_at = %(now)s, attempts = attempts + 1
    WHERE id = %(claim_id)s AND state = '{State.PENDING.value}'
      AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s) AND (expires_at IS NULL OR expires_at > %(now)s)
    RETURNING attempts
)
SELECT (SELECT count(*) FROM sent), (SELECT attempts FROM claimed)
"""  # noqa: S608 -- table names come from the models, state names from Delivery.State, every value is a parameter


def _sent_and_claim_postgres(*, sent: Accepted | None, claim: Delivery | None, token: str, now: datetime) -> bool:
    """The same writes as ``delivery_sent_write`` + ``delivery_claim``, in one statement: one round trip
    and one commit per message instead of five round trips (this is most of a message's database time)."""
    row = sent.delivery if sent is not None else None
    params = {
        "sent_id": row.id if row else None,
        "sent_at": sent.at if sent else now,
        "subject": sent.subject[:255] if sent else "",
        "count": len(sent.paper_ids) if sent else 0,
        "token": token,
        "sub": row.subscription_id if row else None,
        "papers": list(sent.paper_ids) if sent and row and row.kind == Delivery.Kind.DIGEST else [],
        "claim_id": claim.id if claim else None,
        "now": now,
    }
    # Prepared once per connection: this runs once per message.
    with server_bound_cursor() as cursor:
        cursor.execute(_SENT_AND_CLAIM_SQL, params, prepare=True)
        updated, attempts = cursor.fetchone() or (0, None)
    if row is not None and not updated:
        logger.error("delivery %s was accepted by the server but its claim was taken over meanwhile", row.id)
    if claim is None or attempts is None:
        return False
    _claimed(claim, token=token, now=now, attempts=attempts)
    return True


def delivery_attempt_failed(*, delivery: Delivery, token: str, error: str, retry_at: datetime | None) -> None:
    """A claimed row's attempt failed: back to ``pending`` until ``retry_at``, or ``failed`` without one."""
    mine = Delivery.objects.filter(id=delivery.id, claim_token=token, state=State.SENDING)
    if retry_at is not None:
        mine.update(state=State.PENDING, last_error=error[:2000], next_attempt_at=retry_at)
    else:
        mine.update(state=State.FAILED, last_error=error[:2000])


# --- Rows that will not be sent ------------------------------------------------------------------


def deliveries_expire(*, now: datetime, delivery_ids: Sequence[int] | None = None) -> int:
    """Pending rows whose send window has passed become ``expired``: never sent late into the next day."""
    rows = Delivery.objects.filter(state=State.PENDING, expires_at__lte=now)
    if delivery_ids is not None:
        rows = rows.filter(id__in=list(delivery_ids))
    return rows.update(state=State.EXPIRED, last_error="send window passed")


def deliveries_suppress(*, delivery_ids: Sequence[int], reason: str) -> int:
    """Pending rows among ``delivery_ids`` end ``suppressed`` (their address is on the suppression list)."""
    return Delivery.objects.filter(id__in=list(delivery_ids), state=State.PENDING).update(
        state=State.SUPPRESSED, last_error=reason
    )


def deliveries_suppress_address(*, email: str, reason: str) -> int:
    """Every pending row to ``email`` (any case, the row's address or the account's) ends ``suppressed``."""
    pending = Delivery.objects.filter(state=State.PENDING).filter(
        Q(to_email__iexact=email) | Q(subscription__user__email__iexact=email)
    )
    ids = list(pending.values_list("pk", flat=True))
    return Delivery.objects.filter(pk__in=ids).update(state=State.SUPPRESSED, last_error=reason)


def delivery_skip(*, delivery: Delivery, reason: str) -> bool:
    """A pending row with nothing left to send (every paper hidden since planning) ends ``skipped``."""
    return bool(
        Delivery.objects.filter(id=delivery.id, state=State.PENDING).update(state=State.SKIPPED, last_error=reason)
    )


def deliveries_cancel_pending(*, subscription_id: int, reason: str) -> int:
    """The subscriber's pending rows end ``cancelled`` (unsubscribed, or the account is being deleted)."""
    return Delivery.objects.filter(subscription_id=subscription_id, state=State.PENDING).update(
        state=State.CANCELLED, last_error=reason
    )


# --- Rows a lost worker left in ``sending`` (the sweeper decides which way) -----------------------


def _lost(delivery: Delivery):
    return Delivery.objects.filter(id=delivery.id, state=State.SENDING, claim_token=delivery.claim_token)


def delivery_lost_fail(*, delivery: Delivery, error: str) -> bool:
    """A row stuck in ``sending`` that will not be resent ends ``failed``; False if someone got there first."""
    return bool(_lost(delivery).update(state=State.FAILED, last_error=error))


def delivery_lost_requeue(*, delivery: Delivery, now: datetime, error: str) -> bool:
    """A row stuck in ``sending`` goes back to ``pending``, due now. The claim token is kept: if the
    worker was only slow, its own ``sent`` still lands, and a new claim replaces the token first."""
    return bool(_lost(delivery).update(state=State.PENDING, next_attempt_at=now, last_error=error))


# --- An operator sends again ---------------------------------------------------------------------


def delivery_requeue(*, delivery: Delivery, now: datetime, expires_at: datetime, message_id: str) -> bool:
    """Back to ``pending``, due now, with a fresh window and Message-ID; conditional on the state the
    caller read, so of two operators resending at once one wins (False for the other)."""
    changes = {
        "state": State.PENDING,
        "send_at": now,
        "next_attempt_at": now,
        "expires_at": expires_at,
        "claim_token": "",
        "claimed_at": None,
        "message_id": message_id,
        "sent_at": None,
        "last_error": "",
    }
    if not Delivery.objects.filter(pk=delivery.pk, state=delivery.state).update(**changes):
        return False
    for name, value in changes.items():
        setattr(delivery, name, value)
    return True


def deliveries_requeue_failed(*, delivery_ids: Sequence[int], now: datetime, expires_at: datetime) -> int:
    """Failed rows go back to ``pending``, due now, with a fresh send window."""
    return Delivery.objects.filter(pk__in=list(delivery_ids), state=State.FAILED).update(
        state=State.PENDING, next_attempt_at=now, expires_at=expires_at, claim_token=""
    )
