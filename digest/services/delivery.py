"""Planning and sending digests: exactly one email per subscriber per slot.

The flow, and why it is split this way:

1. ``deliveries_plan`` finds the subscribers whose slot has come, matches the day's papers for all of
   them in one pass of the matching engine, and writes one ``Delivery`` row each (UNIQUE subscriber +
   slot, so planning twice plans nothing new). The matched papers are stored on the row.
2. ``deliveries_send`` takes a chunk of row ids, claims the pending ones atomically (so two workers
   never send the same row), and sends them over one SMTP connection. Each row is committed as
   ``sending`` before SMTP is spoken and as ``sent`` right after the server accepted it; an error
   is caught per message so one bad address never stops the rest.

Rendering lives in ``digest.emails`` and knows no SMTP; this module knows no feeds.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import smtplib
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import repeat
from time import perf_counter, thread_time
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Exists, F, JSONField, Max, OuterRef, Q
from django.utils import timezone

from digest.bounces import bounce_address, bounce_token_make
from digest.delivery_content import ContentMemo, content_from_matches, content_paper_ids, digest_email_build
from digest.emails import DigestEmail, digest_message_build, email_cards_warm
from digest.feedback.personalise import RERANK_POOL_FACTOR, content_split, digests_personalise
from digest.feedback.quiet import quiet_notes_for
from digest.library.planning import digests_with_libraries
from digest.library.selectors import library_has_papers_q
from digest.matching import PaperIndex, Profile, match_profiles
from digest.models import Delivery, DeliveryRun, Interest, RankerModel, SentPaper, Subscription, Suppression
from digest.ratelimit import RateLimiter, rate_limiter_for_relay
from digest.selectors.papers import paper_docs_ingested_between, papers_visible_by_id
from digest.services.bounces import suppression_add
from digest.services.circuit import (
    CircuitBreaker,
    PauseWatch,
    circuit_breaker,
    sending_is_paused,
    sending_pause_by_breaker,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How far back a first digest (or one after a long pause) looks for papers.
FIRST_WINDOW = {Subscription.Frequency.DAILY: timedelta(days=1), Subscription.Frequency.WEEKLY: timedelta(days=7)}
MAX_WINDOW = {Subscription.Frequency.DAILY: timedelta(days=7), Subscription.Frequency.WEEKLY: timedelta(days=14)}


# --------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """A subscriber whose slot has come, with what planning needs to know about them."""

    subscription_id: int
    email: str
    slot: date
    send_at: datetime
    expires_at: datetime
    frequency: str
    max_papers: int
    muted: tuple[str, ...]
    quiet_day_note: bool = False


@dataclass
class PlanResult:
    run: DeliveryRun | None
    papers: int = 0
    planned: int = 0
    skipped: int = 0
    expired: int = 0
    chunks: list[list[int]] = field(default_factory=list)


def subscriber_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # A time zone removed from the tz database must not stop everyone else's digest.
        logger.warning("unknown time zone %r, using UTC", name)
        return ZoneInfo("UTC")


def slot_for(
    *, now: datetime, tz_name: str, send_hour: int, frequency: str, weekday: int, slot: date | None
) -> tuple[date, datetime] | None:
    """The slot due for one subscriber at ``now`` and its send time in UTC, or None if not due.

    With an explicit ``slot`` (an operator running a given date) the hour is ignored, but weekly
    subscribers still only get their weekday.
    """
    zone = subscriber_zone(tz_name)
    if slot is None:
        local_now = now.astimezone(zone)
        if local_now.hour < send_hour:
            return None
        day = local_now.date()
        send_at = datetime.combine(day, time(hour=send_hour), tzinfo=zone).astimezone(ZoneInfo("UTC"))
    else:
        day = slot
        send_at = now
    if frequency == Subscription.Frequency.WEEKLY and day.weekday() != weekday:
        return None
    return day, send_at


def candidates_due(*, now: datetime, slot: date | None = None) -> list[Candidate]:
    """Active subscribers with a verified, unsuppressed address whose slot has come and is not planned."""
    window = timedelta(hours=settings.PAPERBOY_SEND_WINDOW_HOURS)
    rows = (
        Subscription.objects.filter(paused=False, unsubscribed_at__isnull=True, user__is_active=True)
        .filter(Q(Exists(Interest.objects.filter(subscription_id=OuterRef("id")))) | library_has_papers_q())
        .values_list(
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
    )
    due: list[Candidate] = []
    for sub_id, email, tz_name, send_hour, frequency, weekday, max_papers, muted, quiet in rows.iterator(2000):
        when = slot_for(now=now, tz_name=tz_name, send_hour=send_hour, frequency=frequency, weekday=weekday, slot=slot)
        if when is None:
            continue
        day, send_at = when
        due.append(
            Candidate(sub_id, email, day, send_at, send_at + window, frequency, max_papers, tuple(muted or ()), quiet)
        )
    if not due:
        return []
    verified = verified_emails(user_emails={c.email for c in due})
    suppressed: set[str] = set()
    for batch in in_batches([c.email for c in due]):
        suppressed.update(Suppression.objects.filter(active=True, email__in=batch).values_list("email", flat=True))
    planned: set[tuple[int, date]] = set()
    slots = {c.slot for c in due}
    for batch in in_batches([c.subscription_id for c in due]):
        planned.update(
            Delivery.objects.filter(kind=Delivery.Kind.DIGEST, subscription_id__in=batch, slot__in=slots).values_list(
                "subscription_id", "slot"
            )
        )
    return [
        c
        for c in due
        if c.email.lower() in verified and c.email not in suppressed and (c.subscription_id, c.slot) not in planned
    ]


def in_batches(values: Sequence[T], size: int = 5000) -> Iterator[Sequence[T]]:
    """Bounded IN lists: SQLite caps the parameters of one statement, and huge lists plan badly."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def verified_emails(*, user_emails: set[str]) -> set[str]:
    """Lower-cased addresses among ``user_emails`` that their owner has verified."""
    found: set[str] = set()
    for batch in in_batches(list(user_emails)):
        found.update(
            e.lower()
            for e in EmailAddress.objects.filter(email__in=batch, verified=True).values_list("email", flat=True)
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
                subscription_id__in=batch,
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
        rows = Interest.objects.filter(subscription_id__in=batch).order_by("subscription_id", "position", "id")
        for sub_id, query in rows.values_list("subscription_id", "query"):
            grouped[sub_id].append(query)
    return {key: tuple(value) for key, value in grouped.items()}


def sent_paper_ids(*, subscription_ids: Sequence[int], paper_ids: Sequence[int]) -> dict[int, set[int]]:
    """Papers among ``paper_ids`` each subscriber already received."""
    sent: dict[int, set[int]] = defaultdict(set)
    if not paper_ids:
        return sent
    for batch in in_batches(subscription_ids):
        rows = SentPaper.objects.filter(subscription_id__in=batch, paper_id__in=paper_ids).values_list(
            "subscription_id", "paper_id"
        )
        for sub_id, paper_id in rows:
            sent[sub_id].add(paper_id)
    return sent


ContentMaker = Callable[[], list[dict]]


def match_candidates(
    *, candidates: Sequence[Candidate], starts: dict[int, datetime], now: datetime
) -> tuple[dict[int, ContentMaker], int]:
    """Match every candidate against the papers of their own window, in one engine pass per window.

    Returns, for each subscriber with something to send, a function that makes their
    ``Delivery.content`` (the matches' explanations -- reasons, snippets -- are most of planning's
    cost, so they are worked out batch by batch as rows are written) and the number of papers
    considered. Subscribers whose previous digest went out in the same run share a window, so in
    practice there are few windows. Papers a subscriber already received are left out exactly:
    the engine is asked for ``limit + already sent`` so the top N after removing them is still the true
    top N. Subscribers with a learned ranking get a larger pool for it to re-order and may get a few
    labelled suggestions; those who asked for quiet-day notes get their nearest misses when nothing matched.
    """
    interests = interests_by_subscription(subscription_ids=[c.subscription_id for c in candidates])
    by_window: dict[datetime, list[Candidate]] = defaultdict(list)
    for c in candidates:
        by_window[starts[c.subscription_id]].append(c)
    results: dict[int, ContentMaker] = {}
    paper_total: set[int] = set()
    for start, group in by_window.items():
        docs = paper_docs_ingested_between(start=start, end=now)
        if not docs:
            continue
        paper_total.update(doc.key for doc in docs)
        index = PaperIndex.build(docs)
        ids = [c.subscription_id for c in group]
        already = sent_paper_ids(subscription_ids=ids, paper_ids=[d.key for d in docs])
        learners = subscriptions_with_ranker(subscription_ids=ids)
        profiles = [
            Profile(
                key=c.subscription_id,
                interests=interests.get(c.subscription_id, ()),
                muted=c.muted,
                limit=c.max_papers * (RERANK_POOL_FACTOR if c.subscription_id in learners else 1)
                + len(already.get(c.subscription_id, ())),
            )
            for c in group
        ]
        limits = {c.subscription_id: c.max_papers for c in group}
        memo: ContentMemo = {}  # subscribers with the same interests share their entries
        fresh = {
            sub_id: [m for m in matches if m.paper_key not in already.get(sub_id, ())]
            for sub_id, matches in match_profiles(index, profiles).items()
        }
        # Papers like the subscriber's library, ranked in with the keyword matches (issue 17).
        fresh = digests_with_libraries(
            matches=fresh,
            docs=docs,
            subscription_ids=ids,
            exclude=already,
            limits=limits,
            paper_index=index,
            muted={c.subscription_id: c.muted for c in group},
        )
        personal = (
            digests_personalise(
                matches={s: m for s, m in fresh.items() if s in learners}, docs=docs, exclude=already, limits=limits
            )
            if learners
            else {}
        )
        for sub_id, matches in fresh.items():
            found = personal[sub_id] if sub_id in personal else matches[: limits[sub_id]]
            if found:
                results[sub_id] = functools.partial(content_split, found, memo)
        quiet = [p for p, c in zip(profiles, group, strict=True) if c.quiet_day_note and p.key not in results]
        if quiet:
            notes = quiet_notes_for(profiles=quiet, index=index, exclude=already)
            results.update({sub_id: functools.partial(list, note) for sub_id, note in notes.items()})
    return results, len(paper_total)


def subscriptions_with_ranker(*, subscription_ids: Sequence[int]) -> set[int]:
    """The subscribers among ``subscription_ids`` who have a learned ranking model."""
    found: set[int] = set()
    for batch in in_batches(subscription_ids):
        found.update(RankerModel.objects.filter(subscription_id__in=batch).values_list("subscription_id", flat=True))
    return found


def message_id_make() -> str:
    return f"<{uuid.uuid4().hex}.digest@{settings.SITE_DOMAIN}>"


PLAN_BATCH = 1000  # rows written (and their chunks queued) per transaction while planning


def deliveries_plan(
    *,
    now: datetime | None = None,
    slot: date | None = None,
    papers_until: datetime | None = None,
    on_chunks: Callable[[list[list[int]]], None] | None = None,
) -> PlanResult:
    """Plan every due slot: one Delivery row per subscriber, matched content stored on it.

    Safe to run any number of times and from several processes at once: the UNIQUE constraint on
    (subscriber, slot) makes a second plan of the same slot a no-op. Rows are written and committed
    ``PLAN_BATCH`` at a time, and each batch's chunks go to ``on_chunks`` (the beat task queues them)
    as soon as it is committed, so workers send the first digests while the rest are still being
    planned. A planner that dies half way leaves whole batches behind; the next run plans the rest.
    """
    now = now or timezone.now()
    # The window's end: normally now; an operator re-running a past date stops at that day's end.
    until = min(papers_until or now, now)
    candidates = candidates_due(now=now, slot=slot)
    if not candidates:
        return PlanResult(run=None)
    starts = window_starts(candidates=candidates, now=until)
    matches, paper_count = match_candidates(candidates=candidates, starts=starts, now=until)

    run = DeliveryRun.objects.create(slot=slot or min(c.slot for c in candidates), papers=paper_count)
    result = PlanResult(run=run, papers=paper_count)
    for batch in _plan_batches(candidates):
        rows = [
            _planned_row(
                c,
                content=matches.get(c.subscription_id),
                run=run,
                now=now,
                until=until,
                start=starts[c.subscription_id],
                result=result,
            )
            for c in batch
        ]
        with transaction.atomic():
            deliveries_insert(rows=rows)
            pending = list(
                Delivery.objects.filter(
                    run=run, state=Delivery.State.PENDING, subscription_id__in=[c.subscription_id for c in batch]
                )
                .order_by("id")
                .values_list("id", flat=True)
            )
            # Kept current batch by batch: the runs dashboard shows a slot being planned, and a planner
            # that dies half way leaves a run whose count matches its rows.
            result.planned = Delivery.objects.filter(run=run).count()
            DeliveryRun.objects.filter(id=run.id).update(planned=result.planned)
        chunks = [list(chunk) for chunk in in_batches(pending, settings.PAPERBOY_CHUNK_SIZE)]
        result.chunks.extend(chunks)
        if on_chunks is not None and chunks:
            on_chunks(chunks)
    run.planned = result.planned
    return result


def _plan_batches(candidates: Sequence[Candidate]) -> Iterator[Sequence[Candidate]]:
    """The first batch is one chunk, so the workers can start while the rest is planned; then PLAN_BATCH."""
    first = min(settings.PAPERBOY_CHUNK_SIZE, PLAN_BATCH)
    yield candidates[:first]
    yield from in_batches(candidates[first:], PLAN_BATCH)


def _planned_row(
    c: Candidate,
    *,
    content: ContentMaker | None,
    run: DeliveryRun,
    now: datetime,
    until: datetime,
    start: datetime,
    result: PlanResult,
) -> Delivery:
    if now >= c.expires_at:  # its content is not worked out: it will never be sent
        state, found, error = Delivery.State.EXPIRED, [], "send window passed"
        result.expired += 1
    elif content is not None:
        state, found, error = Delivery.State.PENDING, content(), ""
    else:
        state, found, error = Delivery.State.SKIPPED, [], "no paper matched this subscriber's interests"
        result.skipped += 1
    return Delivery(
        subscription_id=c.subscription_id,
        run=run,
        slot=c.slot,
        kind=Delivery.Kind.DIGEST,
        state=state,
        send_at=c.send_at,
        expires_at=c.expires_at,
        to_email=c.email,
        message_id=message_id_make(),
        content=found,
        paper_count=len(found),
        last_error=error,
        planned_at=now,
        window_start=start,
        window_end=until,
    )


def server_bound_cursor() -> psycopg.Cursor:
    """A cursor on Django's PostgreSQL connection (inside its transaction, if any) that sends the
    parameters apart from the SQL, as PostgreSQL binds them. Django's own cursors bind client-side:
    psycopg merges every value into the SQL text (quoting large JSON in Python) and PostgreSQL parses
    it all again, on every execution; statements on the hot paths use this one instead."""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def deliveries_insert(*, rows: Sequence[Delivery]) -> None:
    """Insert planned rows, skipping any whose (subscriber, slot) is planned already.

    On PostgreSQL: one ``INSERT ... SELECT FROM ROWS FROM (unnest(arrays), jsonb_array_elements(json))``
    with the values bound server-side. Django's ``bulk_create`` there quotes every value client-side
    into one huge SQL string and parses it again; with ~5 KB of JSON content per row that was most of
    planning's time (5 s for 10,000 rows). The JSON column travels as one JSON document (no per-element
    array quoting). Elsewhere (SQLite for ``make demo``), ``bulk_create``.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        return
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]  # defaults are set by __init__
    plain = [f for f in fields if not isinstance(f, JSONField)]
    documents = [f for f in fields if isinstance(f, JSONField)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [*plain, *documents])
    sources = [f"unnest({', '.join(f'%s::{f.db_type(connection)}[]' for f in plain)})"]
    sources += ["jsonb_array_elements(%s::jsonb)"] * len(documents)
    sql = (
        f"INSERT INTO {quote(Delivery._meta.db_table)} ({columns}) "  # noqa: S608 -- names from the model
        f"SELECT * FROM ROWS FROM ({', '.join(sources)}) ON CONFLICT DO NOTHING"
    )
    params: list[object] = [_column_values(f, rows) for f in plain]
    params += [json.dumps([getattr(row, f.attname) for row in rows], cls=f.encoder) for f in documents]
    with server_bound_cursor() as cursor:
        cursor.execute(sql, params)


_NATIVE = (int, str, date, type(None))  # what psycopg binds as it is (datetime is a date; bool an int)


def _column_values(f, rows: Sequence[Delivery]) -> list:
    """One column's values for binding. The planner's values are plain Python (ints, strings, aware
    datetimes) that need no conversion, so Django's per-value ``get_db_prep_save`` (~5 µs each, 22
    columns per row) is only called for anything else."""
    values = [getattr(row, f.attname) for row in rows]
    if all(isinstance(v, _NATIVE) for v in values):
        return values
    return [f.get_db_prep_save(v, connection) for v in values]


def delivery_send_test(*, subscription_id: int, now: datetime | None = None) -> Delivery:
    """A one-off digest of the last 7 days for the subscriber, sent right away (the web's test button).

    It is a sample of what they would get: it neither skips nor records papers already sent.
    """
    from digest.tasks.delivery import deliveries_send_chunk_task

    now = now or timezone.now()
    subscription = Subscription.objects.select_related("user").get(id=subscription_id)
    docs = paper_docs_ingested_between(start=now - timedelta(days=7), end=now)
    profile = Profile(
        key=subscription.id,
        interests=tuple(subscription.interests.values_list("query", flat=True)),
        muted=tuple(subscription.muted_words or ()),
        limit=subscription.max_papers,
    )
    found = match_profiles(PaperIndex.build(docs), [profile]).get(subscription.id, []) if docs else []
    found = digests_with_libraries(
        matches={subscription.id: found},
        docs=docs,
        subscription_ids=[subscription.id],
        exclude={},
        limits={subscription.id: profile.limit},
        muted={subscription.id: profile.muted},
    ).get(subscription.id, [])
    local_day = now.astimezone(subscriber_zone(subscription.timezone)).date()
    delivery = Delivery.objects.create(
        subscription=subscription,
        slot=local_day,
        kind=Delivery.Kind.TEST,
        state=Delivery.State.PENDING if found else Delivery.State.SKIPPED,
        send_at=now,
        expires_at=now + timedelta(hours=1),
        to_email=subscription.user.email,
        message_id=message_id_make(),
        content=content_from_matches(found),
        paper_count=len(found),
        last_error="" if found else "no paper of the last 7 days matched your interests",
        window_start=now - timedelta(days=7),
        window_end=now,
    )
    if found:
        transaction.on_commit(lambda: deliveries_send_chunk_task.delay([delivery.id]))
    return delivery


# --------------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------------


@dataclass
class SendResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    expired: int = 0
    suppressed: int = 0
    retry: list[int] = field(default_factory=list)
    retry_in_seconds: float = 0.0
    paused: bool = False
    # Seconds spent per stage (render, smtp, db, ratelimit), for logs and the benchmark.
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, other: SendResult) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.expired += other.expired
        self.suppressed += other.suppressed
        self.retry += other.retry
        self.paused = self.paused or other.paused
        for stage, seconds in other.timings.items():
            self.timings[stage] += seconds

    def summary(self) -> dict:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "expired": self.expired,
            "suppressed": self.suppressed,
            "retry": len(self.retry),
            "paused": self.paused,
            "timings": {stage: round(seconds, 6) for stage, seconds in self.timings.items()},
        }


class SendError(Exception):
    """One message was not accepted; ``permanent`` says whether trying again can help.

    ``suppress`` says whether the refusal is about the recipient's address (so it goes on the
    suppression list) rather than about us (a refused sender, a broken template).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        connection_broken: bool = False,
        suppress: bool | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.connection_broken = connection_broken
        self.suppress = permanent and code is not None if suppress is None else suppress


def smtp_error_classify(exc: BaseException) -> SendError:
    """Turn what smtplib raised into a SendError: 5xx is permanent (but 552), everything else transient."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        # A 421 at RCPT still means the server is closing the connection.
        return SendError(
            f"{code} {decode_reply(reply)}", permanent=code_is_permanent(code), code=code, connection_broken=code == 421
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendError(f"server disconnected: {exc}", permanent=False, connection_broken=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return SendError(
            f"{code} {decode_reply(exc.smtp_error)}",
            permanent=code_is_permanent(code),
            code=code,
            connection_broken=code == 421,
            # The relay refusing our envelope sender says nothing about the recipient.
            suppress=code_is_permanent(code) and not isinstance(exc, smtplib.SMTPSenderRefused),
        )
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return SendError(f"timed out talking to the SMTP server: {exc}", permanent=False, connection_broken=True)
    if isinstance(exc, OSError):
        return SendError(f"cannot reach the SMTP server: {exc}", permanent=False, connection_broken=True)
    return SendError(f"{type(exc).__name__}: {exc}", permanent=True, suppress=False)


def code_is_permanent(code: int) -> bool:
    # 552 (mailbox full / storage exceeded) is often temporary in practice (RFC 5321 §4.5.3.1.10).
    return 500 <= code < 600 and code != 552


def decode_reply(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def deliveries_expire(*, now: datetime, delivery_ids: Sequence[int] | None = None) -> int:
    """Pending rows whose send window has passed become ``expired``: never sent late into the next day."""
    rows = Delivery.objects.filter(state=Delivery.State.PENDING, expires_at__lte=now)
    if delivery_ids is not None:
        rows = rows.filter(id__in=list(delivery_ids))
    return rows.update(state=Delivery.State.EXPIRED, last_error="send window passed")


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


def deliveries_suppress(*, deliveries: Sequence[Delivery]) -> set[int]:
    """Rows whose address was suppressed since planning (a bounce, a refusal) end ``suppressed``."""
    emails = {d.to_email for d in deliveries}
    blocked = set(Suppression.objects.filter(active=True, email__in=emails).values_list("email", flat=True))
    ids = [d.id for d in deliveries if d.to_email in blocked]
    if ids:
        Delivery.objects.filter(id__in=ids, state=Delivery.State.PENDING).update(
            state=Delivery.State.SUPPRESSED, last_error="address is on the suppression list"
        )
    return set(ids)


def delivery_claim(*, delivery: Delivery, token: str, now: datetime) -> bool:
    """Move one row pending → ``sending`` and commit, right before its SMTP transaction starts.

    A conditional UPDATE is atomic on every database: when two workers race for the row, exactly
    one wins. Claiming one row at a time (not a whole chunk) keeps the invariant the sweeper relies
    on: a worker has at most one row in ``sending``, the one whose transmission may be under way.
    """
    won = (
        Delivery.objects.filter(id=delivery.id, state=Delivery.State.PENDING)
        .exclude(next_attempt_at__gt=now)
        .exclude(expires_at__lte=now)
        .update(state=Delivery.State.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1)
    )
    if won:
        delivery.state = Delivery.State.SENDING
        delivery.claim_token = token
        delivery.claimed_at = now
        delivery.attempts += 1
    return bool(won)


def deliveries_claim(*, delivery_ids: Sequence[int], now: datetime) -> list[Delivery]:
    """Claim every sendable row among ``delivery_ids`` (one row at a time); returns those this call won."""
    token = uuid.uuid4().hex
    deliveries_expire(now=now, delivery_ids=delivery_ids)
    return [
        d
        for d in deliveries_sendable(delivery_ids=delivery_ids, now=now)
        if delivery_claim(delivery=d, token=token, now=now)
    ]


class SmtpSession:
    """One SMTP connection of a chunk (it has PAPERBOY_SMTP_CONNECTIONS), reopened after a disconnect and
    after ``max_messages``.

    The connection is Django's configured backend (TLS, authentication and timeouts come from the
    EMAIL_* settings). With the SMTP backend, a digest's MIME bytes (written by ``digest.mime``) go
    straight to ``smtplib`` with BODY=8BITMIME when the server offers it (RFC 6152), else as 7-bit
    quoted-printable; any other backend (console, file, a provider's API) gets the message object.
    """

    def __init__(self, *, max_messages: int) -> None:
        self.max_messages = max_messages
        self.connection = None
        self.sent_on_connection = 0

    def send(self, message) -> None:
        if self.connection is None or self.sent_on_connection >= self.max_messages:
            self.close()
            # Every socket operation (connect, each command, each reply) times out after EMAIL_TIMEOUT.
            self.connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
            self.connection.open()
            self.sent_on_connection = 0
        smtp = getattr(self.connection, "connection", None)
        if isinstance(smtp, smtplib.SMTP) and hasattr(message, "mime_bytes"):
            self._send_bytes(smtp, message)
        else:
            message.connection = self.connection
            if not self.connection.send_messages([message]):
                raise SendError("the SMTP backend reported the message as not sent", permanent=False)
        self.sent_on_connection += 1

    @staticmethod
    def _send_bytes(smtp: smtplib.SMTP, message) -> None:
        smtp.ehlo_or_helo_if_needed()
        eight_bit = smtp.has_extn("8bitmime")
        data = message.mime_bytes(allow_8bit=eight_bit)
        options = ["BODY=8BITMIME"] if eight_bit and not data.isascii() else []
        # One recipient: a refusal raises SMTPRecipientsRefused, classified by the caller.
        smtp.sendmail(message.from_email, message.recipients(), data, mail_options=options)

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                logger.debug("closing SMTP connection failed", exc_info=True)
        self.connection = None


def retry_delay(*, attempts: int) -> float:
    """Exponential backoff with jitter (50-100% of the step), so retries from many workers do not arrive together."""
    base = settings.PAPERBOY_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, settings.PAPERBOY_RETRY_MAX_SECONDS) * (0.5 + random.random() / 2)


def message_envelope_set(message, *, delivery_id: int) -> None:
    """Bounces must find their Delivery: a VERP envelope sender and a signed header.

    Django's SMTP backend uses ``from_email`` as the envelope sender and the ``From`` header unless
    ``extra_headers`` has one, so the visible From stays what the email builder chose.
    """
    message.extra_headers["X-Paperboy-Delivery"] = bounce_token_make(delivery_id)
    if settings.PAPERBOY_VERP:
        message.extra_headers.setdefault("From", message.from_email)
        message.from_email = bounce_address(delivery_id)


def delivery_record_sent(
    *, delivery: Delivery, subject: str, paper_ids: Sequence[int], now: datetime, token: str | None = None
) -> bool:
    """Commit ``sent`` right after the server accepted the message (and the papers it carried)."""
    with transaction.atomic():
        return delivery_sent_write(
            delivery=delivery,
            subject=subject,
            paper_ids=paper_ids,
            now=now,
            token=token if token is not None else delivery.claim_token,
        )


def delivery_sent_write(
    *, delivery: Delivery, subject: str, paper_ids: Sequence[int], now: datetime, token: str
) -> bool:
    """The writes of ``sent``; the caller holds the transaction."""
    # Pending too: a sweeper that wrongly took this worker for dead may have put the row back.
    updated = Delivery.objects.filter(
        id=delivery.id, claim_token=token, state__in=[Delivery.State.SENDING, Delivery.State.PENDING]
    ).update(state=Delivery.State.SENT, sent_at=now, subject=subject[:255], last_error="", paper_count=len(paper_ids))
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


class SentLedger:
    """The one message the server accepted whose ``sent`` is not committed yet.

    Its commit rides in the same transaction as the next row's claim -- one commit per message
    instead of two, and a commit (an fsync) is most of a message's database cost. Nothing else
    happens in between (no rendering, no SMTP, no waiting: a wait for a rate-limit token, an error,
    a skip, a pause and the end of the chunk all flush it first), so the row is committed as soon
    after the server's 250 as it would be alone.
    """

    def __init__(self, *, token: str) -> None:
        self.token = token
        self.accepted: tuple[Delivery, str, list[int], datetime] | None = None

    def hold(self, *, delivery: Delivery, subject: str, paper_ids: list[int]) -> None:
        self.flush()
        self.accepted = (delivery, subject, paper_ids, timezone.now())

    def write(self) -> None:
        """Write the held ``sent`` inside the caller's transaction."""
        if self.accepted is not None:
            delivery, subject, paper_ids, at = self.accepted
            self.accepted = None
            delivery_sent_write(delivery=delivery, subject=subject, paper_ids=paper_ids, now=at, token=self.token)

    def write_and_claim(self, *, delivery: Delivery | None, now: datetime) -> bool:
        """Commit the held ``sent`` and claim ``delivery`` (if any) at once; True if the claim was won."""
        if single_statement_supported():
            return self._write_and_claim_postgres(delivery=delivery, now=now)
        with transaction.atomic():
            self.write()
            return delivery is not None and delivery_claim(delivery=delivery, token=self.token, now=now)

    def flush(self) -> None:
        if self.accepted is not None:
            self.write_and_claim(delivery=None, now=timezone.now())

    def _write_and_claim_postgres(self, *, delivery: Delivery | None, now: datetime) -> bool:
        """The same writes as ``write`` + ``delivery_claim``, in one statement: one round trip and one
        commit per message instead of five round trips (this is most of a message's database time)."""
        held, self.accepted = self.accepted, None
        sent, subject, paper_ids, at = held if held is not None else (None, "", [], now)
        params = {
            "sent_id": sent.id if sent else None,
            "sent_at": at,
            "subject": subject[:255],
            "count": len(paper_ids),
            "token": self.token,
            "sub": sent.subscription_id if sent else None,
            "papers": list(paper_ids) if sent and sent.kind == Delivery.Kind.DIGEST else [],
            "claim_id": delivery.id if delivery else None,
            "now": now,
        }
        # Prepared once per connection: this runs once per message.
        with server_bound_cursor() as cursor:
            cursor.execute(_SENT_AND_CLAIM_SQL, params, prepare=True)
            updated, attempts = cursor.fetchone()
        if sent is not None and not updated:
            logger.error("delivery %s was accepted by the server but its claim was taken over meanwhile", sent.id)
        if delivery is None or attempts is None:
            return False
        delivery.state = Delivery.State.SENDING
        delivery.claim_token = self.token
        delivery.claimed_at = now
        delivery.attempts = attempts
        return True


def single_statement_supported() -> bool:
    # Data-modifying CTEs; SQLite (make demo) takes the portable path.
    return connection.vendor == "postgresql"


# Conditions identical to delivery_sent_write and delivery_claim (tests run both paths).
_SENT_AND_CLAIM_SQL = f"""
WITH sent AS (
    UPDATE {Delivery._meta.db_table}
    SET state = 'sent', sent_at = %(sent_at)s, subject = %(subject)s, last_error = '', paper_count = %(count)s
    WHERE id = %(sent_id)s AND claim_token = %(token)s AND state IN ('sending', 'pending')
    RETURNING id
), papers AS (
    INSERT INTO {SentPaper._meta.db_table} (subscription_id, paper_id, delivery_id, sent_at)
    SELECT %(sub)s, paper, %(sent_id)s, %(sent_at)s FROM unnest(%(papers)s::bigint[]) AS paper
    ON CONFLICT DO NOTHING
), claimed AS (
    UPDATE {Delivery._meta.db_table}
    SET state = 'sending', claim_token = %(token)s, claimed_at = %(now)s, attempts = attempts + 1
    WHERE id = %(claim_id)s AND state = 'pending'
      AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s) AND (expires_at IS NULL OR expires_at > %(now)s)
    RETURNING attempts
)
SELECT (SELECT count(*) FROM sent), (SELECT attempts FROM claimed)
"""  # noqa: S608 -- table names come from the models, every value is a parameter


def delivery_record_error(
    *, delivery: Delivery, error: SendError, now: datetime, allow_retry: bool, token: str | None = None
) -> bool:
    """Record a failed attempt; returns True when the row will be retried."""
    token = token if token is not None else delivery.claim_token
    mine = Delivery.objects.filter(id=delivery.id, claim_token=token, state=Delivery.State.SENDING)
    if not error.permanent and allow_retry and delivery.attempts < settings.PAPERBOY_MAX_ATTEMPTS:
        retry_at = now + timedelta(seconds=retry_delay(attempts=delivery.attempts))
        mine.update(state=Delivery.State.PENDING, last_error=str(error)[:2000], next_attempt_at=retry_at)
        return True
    mine.update(state=Delivery.State.FAILED, last_error=str(error)[:2000])
    if error.permanent and error.suppress:
        suppression_add(email=delivery.to_email, reason=f"SMTP refused: {error}", source="smtp")
    return False


class _Clock:
    """Adds the time spent in a ``with clock("stage")`` block to ``timings[stage]``, and the CPU time
    of this thread to ``timings["<stage>_cpu"]`` (with several SMTP connections per chunk, wall time
    also counts waiting for the other threads)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.stage = ""
        self.start = 0.0
        self.start_cpu = 0.0

    def __call__(self, stage: str) -> _Clock:
        self.stage = stage
        return self

    def __enter__(self) -> None:
        self.start, self.start_cpu = perf_counter(), thread_time()

    def __exit__(self, *exc) -> None:
        self.timings[self.stage] += perf_counter() - self.start
        self.timings[f"{self.stage}_cpu"] += thread_time() - self.start_cpu


@dataclass
class _Chunk:
    """What the SMTP connections of one chunk share (each has its own session, ledger and DB connection)."""

    token: str
    emails: dict[int, DigestEmail]  # by delivery id, built for the whole chunk before sending
    now: datetime | None
    allow_retry: bool
    limiter: RateLimiter
    breaker: CircuitBreaker
    # Set by the connection that sees a pause or trips the breaker, so the others stop after their message.
    stop: threading.Event = field(default_factory=threading.Event)


def smtp_lanes(*, rows: int) -> int:
    """How many SMTP connections a chunk uses at once.

    Several, because a message spends most of its time waiting (for the relay's replies, for the
    database's commit); while one connection waits, another renders and sends. One on SQLite, which
    has a single writer (the zero-setup default, ``make demo``).
    """
    if connection.vendor == "sqlite":
        return 1
    return max(1, min(settings.PAPERBOY_SMTP_CONNECTIONS, rows))


def deliveries_send(
    *, delivery_ids: Sequence[int], now: datetime | None = None, allow_retry: bool = True
) -> SendResult:
    """Send one chunk of deliveries over ``PAPERBOY_SMTP_CONNECTIONS`` SMTP connections. Each row is
    updated per message.

    Per message: wait for a rate-limit token, claim the row (commit ``sending``), render, speak SMTP,
    commit ``sent`` (together with the next row's claim, see SentLedger) or the error. A pause (admin
    or circuit breaker) stops the chunk between two messages; the rows not reached stay ``pending``.
    """
    result = SendResult()
    clock = _Clock(result.timings)
    if sending_is_paused():
        result.paused = True
        return result
    with clock("db"):
        start = now or timezone.now()
        result.expired = deliveries_expire(now=start, delivery_ids=delivery_ids)
        rows = deliveries_sendable(delivery_ids=delivery_ids, now=start)
        # Rows of this chunk still backing off from an earlier attempt go with this chunk's retries,
        # else nothing would queue them again before the beat's dispatcher comes round.
        result.retry.extend(deliveries_backing_off_ids(delivery_ids=delivery_ids, now=start))
        suppressed = deliveries_suppress(deliveries=rows) if rows else set()
        result.suppressed = len(suppressed)
        rows = [d for d in rows if d.id not in suppressed]
        if not rows:
            return _retry_time_set(result)
        papers = papers_visible_by_id(paper_ids={pid for d in rows for pid in content_paper_ids(d.content)})
        interests = interests_by_subscription(subscription_ids={d.subscription_id for d in rows})
    with clock("render"):
        emails = {
            d.id: digest_email_build(delivery=d, papers=papers, interests=interests.get(d.subscription_id, ()))
            for d in rows
        }
        # The day's paper cards this chunk needs that no earlier chunk inlined: a few premailer runs of
        # 50 cards each, instead of one run per email that meets a new card (premailer's fixed cost
        # is most of a run).
        email_cards_warm(email for email in emails.values() if email.items)
    chunk = _Chunk(
        token=uuid.uuid4().hex,
        emails=emails,
        now=now,
        allow_retry=allow_retry,
        limiter=rate_limiter_for_relay(),
        breaker=circuit_breaker(),
    )
    lanes = smtp_lanes(rows=len(rows))
    if lanes == 1:
        result.add(_lane_send(rows=rows, chunk=chunk))
    else:
        # Rows dealt round-robin so every connection gets the chunk's order; each thread has its own
        # database connection (Django's are per thread) and closes it when done.
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
            for lane_result in pool.map(_lane_send_in_thread, [rows[i::lanes] for i in range(lanes)], repeat(chunk)):
                result.add(lane_result)
    return _retry_time_set(result)


def _lane_send_in_thread(rows: list[Delivery], chunk: _Chunk) -> SendResult:
    try:
        return _lane_send(rows=rows, chunk=chunk)
    finally:
        connection.close()


def _lane_send(*, rows: list[Delivery], chunk: _Chunk) -> SendResult:
    """One SMTP connection's share of a chunk, message by message."""
    result = SendResult()
    clock = _Clock(result.timings)
    now = chunk.now
    ledger = SentLedger(token=chunk.token)
    session = SmtpSession(max_messages=settings.PAPERBOY_SMTP_MAX_PER_CONNECTION)
    pause = PauseWatch()
    try:
        for delivery in rows:
            if chunk.stop.is_set() or pause.paused():
                chunk.stop.set()
                result.paused = True
                break
            email = chunk.emails[delivery.id]
            if not email.items:
                with clock("db"):
                    ledger.flush()
                    Delivery.objects.filter(id=delivery.id, state=Delivery.State.PENDING).update(
                        state=Delivery.State.SKIPPED, last_error="every matched paper was hidden by a moderator"
                    )
                result.skipped += 1
                continue
            with clock("ratelimit"):
                # Waiting for a token must not leave the last accepted message uncommitted.
                chunk.limiter.acquire(on_wait=ledger.flush)
            with clock("db"):
                # One commit: the previous message's ``sent`` and this row's ``sending``. ``now`` given
                # by a caller (tests, a frozen clock) stays the claim time; else the real time.
                won = ledger.write_and_claim(delivery=delivery, now=now or timezone.now())
            if not won:
                continue  # another worker has it, or it was cancelled meanwhile
            result.claimed += 1
            try:
                with clock("render"):
                    message = digest_message_build(email)
                    message_envelope_set(message, delivery_id=delivery.id)
                with clock("smtp"):
                    session.send(message)
            except Exception as exc:  # every failure is classified and recorded on its row
                error = exc if isinstance(exc, SendError) else smtp_error_classify(exc)
                logger.warning("delivery %s to %s failed: %s", delivery.id, delivery.to_email, error)
                if error.connection_broken:
                    session.close()
                with clock("db"):
                    retried = delivery_record_error(
                        delivery=delivery,
                        error=error,
                        now=now or timezone.now(),
                        allow_retry=chunk.allow_retry,
                        token=chunk.token,
                    )
                if retried:
                    result.retry.append(delivery.id)
                else:
                    result.failed += 1
                if chunk.breaker.failure():
                    sending_pause_by_breaker(failures=chunk.breaker.threshold, last_error=str(error))
                    chunk.stop.set()
                    result.paused = True
                    break
                continue
            ledger.hold(delivery=delivery, subject=message.subject, paper_ids=[i.paper_key for i in email.items])
            chunk.breaker.success()
            result.sent += 1
    finally:
        with clock("db"):
            ledger.flush()
        session.close()
    return result


def _retry_time_set(result: SendResult) -> SendResult:
    """When the earliest of the rows to retry may go (the chunk task queues them again for then)."""
    if result.retry:
        retry_at = (
            Delivery.objects.filter(id__in=result.retry)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        result.retry_in_seconds = max((retry_at - timezone.now()).total_seconds(), 0.0) if retry_at else 0.0
    return result


def deliveries_due_ids(*, now: datetime | None = None) -> list[int]:
    """Pending rows whose time has come (retries, rows left behind by a pause) — for the dispatcher."""
    now = now or timezone.now()
    # Fresh rows are on the queue already; only rows that waited a while (a pause, a lost message)
    # or whose retry time came are queued again. Claiming makes a double queueing harmless anyway.
    waited = Q(attempts__gt=0) | Q(planned_at__lt=now - timedelta(seconds=settings.PAPERBOY_REQUEUE_AFTER_SECONDS))
    return list(
        Delivery.objects.filter(waited, state=Delivery.State.PENDING, send_at__lte=now)
        .exclude(next_attempt_at__gt=now)
        .order_by("id")
        .values_list("id", flat=True)[:50_000]
    )
