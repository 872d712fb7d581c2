"""Account emails (verification, password reset, notices) as rows with a small state machine.

    pending ──claim──▶ sending ──▶ sent
       ▲                  │
       └── SMTP down ◀────┤  (attempts < PAPERBOY_ACCOUNT_EMAIL_MAX_ATTEMPTS, with backoff)
                          └──▶ failed  (refused for good, or out of attempts)

A page that sends an account email only writes a pending row and queues its send after commit, so
an SMTP server that is down never turns sign-up into an error page or a half-made account: the email
goes out when the server is back. This module is the only one that changes ``AccountEmail.state``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import AccountEmail

log = logging.getLogger(__name__)

State = AccountEmail.State


@dataclass(frozen=True)
class SendOutcome:
    state: str
    retry_in: float | None = None  # seconds until the next try, when the row is pending again


# Once an email has gone (or never will), its body is dropped: it holds confirmation and password-reset
# links that must not outlive their use in the database or the admin. The row stays as the log.
_FORGET_BODY = {"body_text": "", "body_html": ""}


def account_email_queue(
    *, kind: str, message: EmailMultiAlternatives, on_queued: Callable[[int], object]
) -> AccountEmail:
    """Store a rendered account email; once the current transaction commits, ``on_queued(id)`` sends it
    (the caller passes the task's ``delay``, so this module needs no task and the tasks need no caller)."""
    [to_email] = message.to
    html = next((content for content, mimetype in getattr(message, "alternatives", []) if mimetype == "text/html"), "")
    row = AccountEmail.objects.create(
        kind=kind,
        to_email=to_email,
        subject=str(message.subject),
        body_text=str(message.body),
        body_html=str(html),
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        message_id=message.extra_headers.get("Message-ID", ""),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: on_queued(row.id))
    return row


def account_email_retry_delay(*, attempts: int) -> float:
    """Exponential backoff from PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS, capped at an hour."""
    base = settings.PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS
    return float(min(base * 2 ** max(attempts - 1, 0), 3600.0))


def _claim(email_id: int, now: datetime) -> bool:
    # A conditional update: of two workers (a countdown retry and the sweeper), exactly one sends.
    stale = now - timedelta(seconds=settings.PAPERBOY_SENDING_TIMEOUT)
    claimable = Q(state=State.PENDING) | Q(state=State.SENDING, claimed_at__lt=stale)
    return bool(AccountEmail.objects.filter(claimable, id=email_id).update(state=State.SENDING, claimed_at=now))


def _message(row: AccountEmail) -> EmailMultiAlternatives:
    headers = {"Message-ID": row.message_id} if row.message_id else {}
    message = EmailMultiAlternatives(
        row.subject, row.body_text, row.from_email, [row.to_email], headers=headers, connection=get_connection()
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    return message


def _refused_for_good(error: Exception) -> bool:
    """A 5xx for this recipient: trying again will not help. Anything else (refused connection, timeout,
    4xx, a sender-side rejection) is the server's or our problem, and worth another try."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return False


def account_email_send(*, email_id: int) -> SendOutcome:
    """Try to send one account email now, if it is still due to go."""
    now = timezone.now()
    if not _claim(email_id, now):
        state = AccountEmail.objects.filter(id=email_id).values_list("state", flat=True).first()
        return SendOutcome(state=state or "missing")
    row = AccountEmail.objects.get(id=email_id)
    attempts = row.attempts + 1
    try:
        _message(row).send()
    except (OSError, smtplib.SMTPException) as error:
        reason = f"{type(error).__name__}: {error}"[:1000]
        if _refused_for_good(error) or attempts >= settings.PAPERBOY_ACCOUNT_EMAIL_MAX_ATTEMPTS:
            AccountEmail.objects.filter(id=email_id).update(
                state=State.FAILED, attempts=attempts, last_error=reason, next_attempt_at=None, **_FORGET_BODY
            )
            log.error("account email %s to %s failed for good: %s", row.kind, row.to_email, reason)
            return SendOutcome(state=State.FAILED)
        delay = account_email_retry_delay(attempts=attempts)
        AccountEmail.objects.filter(id=email_id).update(
            state=State.PENDING,
            attempts=attempts,
            last_error=reason,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        log.warning("account email %s to %s not sent (%s); next try in %.0f s", row.kind, row.to_email, reason, delay)
        return SendOutcome(state=State.PENDING, retry_in=delay)
    AccountEmail.objects.filter(id=email_id).update(
        state=State.SENT, attempts=attempts, sent_at=timezone.now(), last_error="", next_attempt_at=None, **_FORGET_BODY
    )
    return SendOutcome(state=State.SENT)


def account_emails_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Ids of pending emails whose next try is due, and of sends whose worker died mid-way."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.PAPERBOY_SENDING_TIMEOUT)
    return list(
        AccountEmail.objects.filter(
            Q(state=State.PENDING, next_attempt_at__lte=now) | Q(state=State.SENDING, claimed_at__lt=stale)
        )
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
