"""Delivery's reads: who is due, their paper windows and interests, and which rows can be sent.

Every function here only reads; the state changes are in ``digest.delivery.state``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from digest.db import Listed, in_batches
from digest.delivery.schedule import (
    FIRST_WINDOW,
    MAX_WINDOW,
    Candidate,
    next_due_after_slot,
    next_due_now,
    slot_for,
)
from digest.library.selectors import library_has_papers_q
from digest.models import Delivery, Interest, RankerModel, SentPaper, Subscription, Suppression


def _subscriptions_plannable() -> QuerySet[Subscription]:
    """Active subscriptions of active users with something to plan: at least one interest, a library
    with papers, or the trending digest. The only ones ever planned."""
    return Subscription.objects.filter(paused=False, unsubscribed_at__isnull=True, user__is_active=True).filter(
        Exists(Interest.objects.filter(subscription_id=OuterRef("id")))
        | library_has_papers_q()
        | Q(digest=Subscription.Digest.TRENDING)
    )


def _due_now(now: datetime) -> Q:
    # Reads the partial index subscription_next_due; NULL is a subscription nobody has scheduled yet.
    return Q(next_due_at__lte=now) | Q(next_due_at__isnull=True)


def subscriptions_due_ids(*, now: datetime, slot: date | None = None) -> list[int]:
    """Ids (ascending) of the subscriptions the beat must look at now: those whose ``next_due_at`` has
    come, found through the index whatever the total. An operator's explicit ``slot`` looks at all."""
    rows = _subscriptions_plannable()
    if slot is None:
        rows = rows.filter(_due_now(now))
    return list(rows.order_by("id").values_list("id", flat=True))


def subscriptions_due_shards(
    *, now: datetime, slot: date | None = None, size: int, after: int | None = None
) -> list[tuple[int, int]]:
    """``subscriptions_due_ids`` (those above ``after``, when given) cut into runs of at most ``size``
    ids, as (first id, last id), worked out by the database (a million due ids never travel to the
    beat; the reference is cutting the list of ids, ``digest.db.in_batches``: a test checks they agree)."""
    rows = _subscriptions_plannable()
    if slot is None:
        rows = rows.filter(_due_now(now))
    if after is not None:
        rows = rows.filter(id__gt=after)
    sql, params = rows.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(id), max(id) FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS shard "  # noqa: S608
            f"FROM ({sql}) AS due) AS numbered GROUP BY shard ORDER BY 1",
            [size, *params],
        )
        return [(int(first), int(last)) for first, last in cursor.fetchall()]


def subscriptions_due_first_shard(*, now: datetime, size: int) -> tuple[int, int] | None:
    """The first shard of ``subscriptions_due_shards`` alone, found without numbering every due row
    (the lowest ``size`` due ids, walking the primary key): the beat queues it before cutting the rest."""
    found = list(_subscriptions_plannable().filter(_due_now(now)).order_by("id").values_list("id", flat=True)[:size])
    return (found[0], found[-1]) if found else None


@dataclass
class DueCheck:
    """A shard's due subscribers: those to plan now, and the next due time of the others (not due
    after all, their slot planned already, their address unverified or suppressed)."""

    candidates: list[Candidate] = field(default_factory=list)
    rescheduled: dict[int, datetime] = field(default_factory=dict)


def candidates_due(
    *, now: datetime, slot: date | None = None, first_id: int | None = None, last_id: int | None = None
) -> DueCheck:
    """Active subscribers with a verified, unsuppressed address whose slot has come and is not planned,
    among ids ``first_id``..``last_id`` (a shard; both None: everyone due)."""
    window = timedelta(hours=settings.PAPERBOY_SEND_WINDOW_HOURS)
    subscriptions = _subscriptions_plannable()
    if slot is None:
        subscriptions = subscriptions.filter(_due_now(now))
    if first_id is not None:
        subscriptions = subscriptions.filter(id__gte=first_id)
    if last_id is not None:
        subscriptions = subscriptions.filter(id__lte=last_id)
    rows = subscriptions.values_list(
        "id",
        "user__email",
        "timezone",
        "send_hour",
        "frequency",
        "weekday",
        "max_papers",
        "muted_words",
        "quiet_day_note",
    )
    check = DueCheck()
    due: list[Candidate] = []
    # A slot's subscribers share a handful of (zone, hour, frequency, weekday): worked out once each.
    schedules: dict[tuple[str, int, str, int], tuple[tuple[date, datetime] | None, datetime]] = {}
    for sub_id, email, tz_name, send_hour, frequency, weekday, max_papers, muted, quiet in rows.iterator(2000):
        rule = (tz_name, send_hour, frequency, weekday)
        schedule = schedules.get(rule)
        if schedule is None:
            schedule = schedules[rule] = _schedule(now=now, slot=slot, rule=rule)
        when, next_due = schedule
        if when is None:
            check.rescheduled[sub_id] = next_due
            continue
        day, send_at = when
        due.append(
            Candidate(
                sub_id,
                email,
                day,
                send_at,
                send_at + window,
                frequency,
                max_papers,
                tuple(muted or ()),
                quiet,
                next_due_at=next_due,
            )
        )
    if not due:
        return check
    verified = verified_emails(user_emails={c.email for c in due})
    suppressed = suppressed_emails(emails=[c.email for c in due])
    planned: set[tuple[int, date]] = set()
    slots = {c.slot for c in due}
    for batch in in_batches([c.subscription_id for c in due]):
        planned.update(
            Delivery.objects.filter(
                kind=Delivery.Kind.DIGEST, subscription_id__any=Listed(batch), slot__in=slots
            ).values_list("subscription_id", "slot")
        )
    for c in due:
        if c.email.lower() in verified and c.email not in suppressed and (c.subscription_id, c.slot) not in planned:
            check.candidates.append(c)
        elif c.next_due_at is not None:
            # Not this slot (planned already, or the address cannot receive it): looked at again at the next one.
            check.rescheduled[c.subscription_id] = c.next_due_at
    return check


def _schedule(
    *, now: datetime, slot: date | None, rule: tuple[str, int, str, int]
) -> tuple[tuple[date, datetime] | None, datetime]:
    """(the slot due now and its send time, or None; the next due time after it, or from now)."""
    tz_name, send_hour, frequency, weekday = rule
    when = slot_for(now=now, tz_name=tz_name, send_hour=send_hour, frequency=frequency, weekday=weekday, slot=slot)
    if when is None:
        return None, next_due_now(now=now, tz_name=tz_name, send_hour=send_hour, frequency=frequency, weekday=weekday)
    return when, next_due_after_slot(
        slot=when[0], tz_name=tz_name, send_hour=send_hour, frequency=frequency, weekday=weekday
    )


def suppressed_emails(*, emails: Iterable[str]) -> set[str]:
    """Those of ``emails`` on the active suppression list (exact spelling: suppressions store the account's)."""
    found: set[str] = set()
    for batch in in_batches(list(emails)):
        found.update(Suppression.objects.filter(active=True, email__any=Listed(batch)).values_list("email", flat=True))
    return found


def verified_emails(*, user_emails: set[str]) -> set[str]:
    """Lower-cased addresses among ``user_emails`` that their owner has verified."""
    found: set[str] = set()
    for batch in in_batches(list(user_emails)):
        found.update(
            e.lower()
            for e in EmailAddress.objects.filter(email__any=Listed(batch), verified=True).values_list(
                "email", flat=True
            )
        )
    return found


def window_starts(*, candidates: Sequence[Candidate], now: datetime) -> dict[int, datetime]:
    """Where each subscriber's paper window starts: the end of their last digest that went out."""
    ids = [c.subscription_id for c in candidates]
    last_end: dict[int, datetime] = {}
    for batch in in_batches(ids):
        rows = (
            Delivery.objects.filter(
                kind=Delivery.Kind.DIGEST,
                subscription_id__any=Listed(batch),
                state__in=[Delivery.State.SENT, Delivery.State.SKIPPED],
                window_end__isnull=False,
            )
            .values("subscription_id")
            .annotate(end=Max("window_end"))
            .values_list("subscription_id", "end")
        )
        last_end.update(rows)
    starts = {}
    for c in candidates:
        earliest = now - MAX_WINDOW[c.frequency]
        previous = last_end.get(c.subscription_id)
        starts[c.subscription_id] = max(previous, earliest) if previous else now - FIRST_WINDOW[c.frequency]
    return starts


def interests_by_subscription(*, subscription_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for batch in in_batches(list(subscription_ids)):
        rows = Interest.objects.filter(subscription_id__any=Listed(batch)).order_by("subscription_id", "position", "id")
        for sub_id, query in rows.values_list("subscription_id", "query"):
            grouped[sub_id].append(query)
    return {key: tuple(value) for key, value in grouped.items()}


def sent_paper_ids(*, subscription_ids: Sequence[int], paper_ids: Sequence[int]) -> dict[int, set[int]]:
    """Papers among ``paper_ids`` each subscriber already received."""
    sent: dict[int, set[int]] = defaultdict(set)
    if not paper_ids:
        return sent
    for batch in in_batches(subscription_ids):
        rows = SentPaper.objects.filter(
            subscription_id__any=Listed(batch), paper_id__any=Listed(paper_ids)
        ).values_list("subscription_id", "paper_id")
        for sub_id, paper_id in rows:
            sent[sub_id].add(paper_id)
    return sent


def subscriptions_with_ranker(*, subscription_ids: Sequence[int]) -> set[int]:
    """The subscribers among ``subscription_ids`` who have a learned ranking model."""
    found: set[int] = set()
    for batch in in_batches(subscription_ids):
        found.update(
            RankerModel.objects.filter(subscription_id__any=Listed(batch)).values_list("subscription_id", flat=True)
        )
    return found


def deliveries_sendable(*, delivery_ids: Sequence[int], now: datetime) -> list[Delivery]:
    """The pending rows among ``delivery_ids`` whose time has come, in id order -- not claimed yet."""
    return list(
        Delivery.objects.filter(id__in=list(delivery_ids), state=Delivery.State.PENDING)
        .exclude(next_attempt_at__gt=now)
        .exclude(expires_at__lte=now)
        .select_related("subscription")
        .order_by("id")
    )


def deliveries_backing_off_ids(*, delivery_ids: Sequence[int], now: datetime) -> list[int]:
    """Pending rows among ``delivery_ids`` whose retry time has not come yet (an earlier attempt failed)."""
    return list(
        Delivery.objects.filter(id__in=list(delivery_ids), state=Delivery.State.PENDING, next_attempt_at__gt=now)
        .order_by("id")
        .values_list("id", flat=True)
    )


def deliveries_pending_ids(*, delivery_ids: Sequence[int]) -> list[int]:
    return list(
        Delivery.objects.filter(id__in=list(delivery_ids), state=Delivery.State.PENDING)
        .order_by("id")
        .values_list("id", flat=True)
    )


def deliveries_pending_of_run(*, run_id: int, subscription_ids: Sequence[int]) -> list[int]:
    """The ids of a run's pending rows for these subscribers, in id order (a planned batch's chunks)."""
    return list(
        Delivery.objects.filter(run_id=run_id, state=Delivery.State.PENDING, subscription_id__in=subscription_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )


def retry_earliest_at(*, delivery_ids: Sequence[int]) -> datetime | None:
    """The earliest ``next_attempt_at`` among these rows."""
    return (
        Delivery.objects.filter(id__in=list(delivery_ids))
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def deliveries_due_ids(*, now: datetime | None = None, queue_empty: bool = False) -> list[int]:
    """Pending rows whose time has come (retries, rows left behind by a pause or a lost chunk) — for the
    dispatcher.

    Fresh rows are on the queue already; only rows that waited a while or whose retry time came are
    queued again. How long "a while" is depends on what the broker holds: with chunks still queued or
    being worked on, a pending row may just be waiting its turn, so PAPERBOY_REQUEUE_AFTER_SECONDS
    (15 min); with nothing queued and nothing in flight (``queue_empty``), a pending row older than
    PAPERBOY_LOST_CHUNK_SECONDS can only belong to a chunk that was lost (a broker restart, a task that
    died on a database error). Claiming makes a double queueing harmless anyway.
    """
    now = now or timezone.now()
    after = settings.PAPERBOY_LOST_CHUNK_SECONDS if queue_empty else settings.PAPERBOY_REQUEUE_AFTER_SECONDS
    waited = Q(attempts__gt=0) | Q(planned_at__lt=now - timedelta(seconds=after))
    return list(
        Delivery.objects.filter(waited, state=Delivery.State.PENDING, send_at__lte=now)
        .exclude(next_attempt_at__gt=now)
        .order_by("id")
        .values_list("id", flat=True)[:50_000]
    )
