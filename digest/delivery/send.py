"""Sending one chunk of planned rows: exactly one email per row, over several SMTP connections.

Per message: wait for a rate-limit token, claim the row (commit ``sending``), render, speak SMTP,
commit ``sent`` (together with the next row's claim, see :class:`SentLedger`) or the error. An
error is caught per message so one bad address never stops the rest. A pause (admin or circuit
breaker) stops the chunk between two messages; the rows not reached stay ``pending``.

What a server's reply means is decided in ``digest.delivery.smtp``; every state change is made
by ``digest.delivery.state``; rendering lives in ``digest.email`` and knows no SMTP.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from time import perf_counter, thread_time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from digest.content import content_paper_ids, digest_email_build
from digest.delivery.bounces import suppression_add
from digest.delivery.circuit import (
    CircuitBreaker,
    PauseWatch,
    circuit_breaker,
    sending_is_paused,
    sending_pause_by_breaker,
)
from digest.delivery.envelope import message_envelope_set
from digest.delivery.ratelimit import RateLimiter, rate_limiter_for_relay
from digest.delivery.smtp import SendError, SmtpSession, retry_at, smtp_error_classify
from digest.delivery.state import (
    Accepted,
    deliveries_expire,
    deliveries_suppress,
    delivery_attempt_failed,
    delivery_sent_and_claim,
    delivery_skip,
)
from digest.email import DigestEmail, digest_message_build, email_cards_warm
from digest.models import Delivery
from digest.selectors.delivery import (
    deliveries_backing_off_ids,
    deliveries_sendable,
    interests_by_subscription,
    retry_earliest_at,
    suppressed_emails,
)
from digest.selectors.papers import papers_visible_by_id

logger = logging.getLogger(__name__)


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
        self.accepted: Accepted | None = None

    def hold(self, *, delivery: Delivery, subject: str, paper_ids: list[int]) -> None:
        self.flush()
        self.accepted = Accepted(delivery=delivery, subject=subject, paper_ids=paper_ids, at=timezone.now())

    def write_and_claim(self, *, delivery: Delivery | None, now: datetime) -> bool:
        """Commit the held ``sent`` and claim ``delivery`` (if any) at once; True if the claim was won."""
        held, self.accepted = self.accepted, None
        return delivery_sent_and_claim(sent=held, claim=delivery, token=self.token, now=now)

    def flush(self) -> None:
        if self.accepted is not None:
            self.write_and_claim(delivery=None, now=timezone.now())


def delivery_record_error(
    *, delivery: Delivery, error: SendError, now: datetime, allow_retry: bool, token: str | None = None
) -> bool:
    """Record a failed attempt; returns True when the row will be retried."""
    token = token if token is not None else delivery.claim_token
    when = retry_at(error=error, attempts=delivery.attempts, allow_retry=allow_retry, now=now)
    delivery_attempt_failed(delivery=delivery, token=token, error=str(error), retry_at=when)
    if when is None and error.permanent and error.suppress:
        suppression_add(email=delivery.to_email, reason=f"SMTP refused: {error}", source="smtp")
    return when is not None


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
    updated per message (see the module's docstring)."""
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
        suppressed = _rows_suppress(rows) if rows else set()
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
        result.add(_Lane(chunk).run(rows))
    else:
        # Rows dealt round-robin so every connection gets the chunk's order; each thread has its own
        # database connection (Django's are per thread) and closes it when done.
        with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="smtp") as pool:
            for lane_result in pool.map(_lane_send_in_thread, [rows[i::lanes] for i in range(lanes)], repeat(chunk)):
                result.add(lane_result)
    return _retry_time_set(result)


def _rows_suppress(rows: Sequence[Delivery]) -> set[int]:
    """Rows whose address was suppressed since planning (a bounce, a refusal) end ``suppressed``."""
    blocked = suppressed_emails(emails={d.to_email for d in rows})
    ids = [d.id for d in rows if d.to_email in blocked]
    if ids:
        deliveries_suppress(delivery_ids=ids, reason="address is on the suppression list")
    return set(ids)


def _lane_send_in_thread(rows: list[Delivery], chunk: _Chunk) -> SendResult:
    try:
        return _Lane(chunk).run(rows)
    finally:
        connection.close()


class _Lane:
    """One SMTP connection's share of a chunk, message by message."""

    def __init__(self, chunk: _Chunk) -> None:
        self.chunk = chunk
        self.result = SendResult()
        self.clock = _Clock(self.result.timings)
        self.ledger = SentLedger(token=chunk.token)
        self.session = SmtpSession(max_messages=settings.PAPERBOY_SMTP_MAX_PER_CONNECTION)
        self.pause = PauseWatch()

    def run(self, rows: Sequence[Delivery]) -> SendResult:
        try:
            for delivery in rows:
                if self.chunk.stop.is_set() or self.pause.paused():
                    self._stop()
                    break
                if not self._send_one(delivery):
                    break
        finally:
            with self.clock("db"):
                self.ledger.flush()
            self.session.close()
        return self.result

    def _stop(self) -> None:
        self.chunk.stop.set()
        self.result.paused = True

    def _send_one(self, delivery: Delivery) -> bool:
        """Send one row; False when the chunk must stop (the circuit breaker tripped)."""
        chunk, clock, result = self.chunk, self.clock, self.result
        email = chunk.emails[delivery.id]
        if not email.items:
            with clock("db"):
                self.ledger.flush()
                delivery_skip(delivery=delivery, reason="every matched paper was hidden by a moderator")
            result.skipped += 1
            return True
        with clock("ratelimit"):
            # Waiting for a token must not leave the last accepted message uncommitted.
            chunk.limiter.acquire(on_wait=self.ledger.flush)
        with clock("db"):
            # One commit: the previous message's ``sent`` and this row's ``sending``. ``now`` given
            # by a caller (tests, a frozen clock) stays the claim time; else the real time.
            won = self.ledger.write_and_claim(delivery=delivery, now=chunk.now or timezone.now())
        if not won:
            return True  # another worker has it, or it was cancelled meanwhile
        result.claimed += 1
        try:
            with clock("render"):
                message = digest_message_build(email)
                message_envelope_set(message, delivery_id=delivery.id)
            with clock("smtp"):
                self.session.send(message)
        except Exception as exc:  # every failure is classified and recorded on its row
            return self._failed(delivery, exc)
        self.ledger.hold(delivery=delivery, subject=str(message.subject), paper_ids=[i.paper_key for i in email.items])
        chunk.breaker.success()
        result.sent += 1
        return True

    def _failed(self, delivery: Delivery, exc: Exception) -> bool:
        """Record a failed message; False when it tripped the circuit breaker (sending is paused)."""
        error = exc if isinstance(exc, SendError) else smtp_error_classify(exc)
        logger.warning("delivery %s to %s failed: %s", delivery.id, delivery.to_email, error)
        if error.connection_broken:
            self.session.close()
        with self.clock("db"):
            retried = delivery_record_error(
                delivery=delivery,
                error=error,
                now=self.chunk.now or timezone.now(),
                allow_retry=self.chunk.allow_retry,
                token=self.chunk.token,
            )
        if retried:
            self.result.retry.append(delivery.id)
        else:
            self.result.failed += 1
        if self.chunk.breaker.failure():
            sending_pause_by_breaker(failures=self.chunk.breaker.threshold, last_error=str(error))
            self._stop()
            return False
        return True


def _retry_time_set(result: SendResult) -> SendResult:
    """When the earliest of the rows to retry may go (the chunk task queues them again for then)."""
    if result.retry:
        retry_at = retry_earliest_at(delivery_ids=result.retry)
        result.retry_in_seconds = max((retry_at - timezone.now()).total_seconds(), 0.0) if retry_at else 0.0
    return result
