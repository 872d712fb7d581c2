"""Celery tasks for account emails: thin wrappers that take ids, call ``accounts.outbox``, decide retry."""

from __future__ import annotations

import threading

from celery import shared_task
from django.db import close_old_connections, connection

from accounts.outbox import account_email_send, account_emails_due


@shared_task(bind=True, name="accounts.account_email_send", max_retries=None, acks_late=True)
def account_email_send_task(self, email_id: int) -> str:
    outcome = account_email_send(email_id=email_id)
    if outcome.retry_in is not None:
        if self.request.is_eager:
            # No worker (make run without REDIS_URL): try again from a timer in this process.
            _retry_in_process(email_id, outcome.retry_in)
        else:
            raise self.retry(countdown=outcome.retry_in)
    return outcome.state


@shared_task(name="accounts.account_emails_send_due")
def account_emails_send_due_task() -> int:
    """Beat's safety net: pending emails whose queued retry was lost (a restarted broker or process)."""
    ids = account_emails_due()
    for email_id in ids:
        account_email_send_task.delay(email_id)
    return len(ids)


def _retry_in_process(email_id: int, delay: float) -> None:
    def run() -> None:
        close_old_connections()
        try:
            account_email_send_task.apply(args=(email_id,))
        finally:
            connection.close()  # this thread's own connection; the request's is untouched

    timer = threading.Timer(delay, run)
    timer.daemon = True
    timer.name = f"account-email-retry-{email_id}"
    timer.start()
