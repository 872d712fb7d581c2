"""Sign-up survives a mail outage: the verification email waits in the outbox and goes out when SMTP is back.

Each test stops the SMTP server (nothing listens on its port), signs up for real, then starts a real
SMTP server on that port and waits for the email, in-process (no REDIS_URL, as ``make run``) and
through a real Celery worker on Redis.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import AccountEmail, User
from accounts.outbox import account_email_send, account_emails_due
from digest.mailsink import MemoryHandler, free_port, sink_start
from tests.conftest import wait_for
from tests.web.conftest import CsrfClient

PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture
def smtp_down(settings):
    """An SMTP address with no server behind it yet; ``start()`` brings a real one up there."""
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    controllers = []

    class Down:
        handler = MemoryHandler()

        @staticmethod
        def start() -> MemoryHandler:
            controllers.append(sink_start(handler=Down.handler, port=port))
            return Down.handler

    Down.port = port
    yield Down
    for controller in controllers:
        controller.stop()


def sign_up(client: CsrfClient, email: str):
    return client.post_form("/accounts/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def assert_signed_up_with_the_email_on_its_way(client: CsrfClient, response, email: str) -> AccountEmail:
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    page = client.get(response["Location"]).content.decode()
    assert "is on its way" in page and "we keep trying" in page
    assert User.objects.filter(email=email).exists()
    assert not EmailAddress.objects.get(email=email).verified
    [row] = AccountEmail.objects.filter(to_email=email)
    return row


def confirm_from(message, client: CsrfClient, email: str) -> None:
    body = message.get_body(("plain",)).get_content()
    path = re.sub(r"^https?://[^/]+", "", re.search(r"https?://\S+/accounts/confirm-email/\S+", body).group(0))
    response = client.post_form(path)
    assert response.status_code == 302 and response["Location"] == "/preferences/"
    assert EmailAddress.objects.get(email=email).verified


@pytest.mark.django_db(transaction=True)
def test_signing_up_while_smtp_is_down_succeeds_and_the_email_goes_out_when_it_is_back(smtp_down, settings):
    settings.PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS = 0.3  # no worker: a timer in this process tries again
    client = CsrfClient()
    row = assert_signed_up_with_the_email_on_its_way(
        client, sign_up(client, "newbie@example.org"), "newbie@example.org"
    )
    row.refresh_from_db()
    assert row.state == AccountEmail.State.PENDING
    assert row.attempts >= 1 and "Connection" in row.last_error

    # Signing up again does not meet a half-made account: it looks exactly like a first sign-up.
    again = sign_up(CsrfClient(), "newbie@example.org")
    assert again.status_code == 302 and again["Location"] == "/accounts/confirm-email/"
    assert User.objects.filter(email="newbie@example.org").count() == 1

    handler = smtp_down.start()
    message = wait_for(
        lambda: next(
            (m for m in handler.messages() if m["Subject"] == "Confirm your email address for Paperboy"), None
        ),
        what="the verification email after the outage",
    )
    assert message["To"] == "newbie@example.org"
    wait_for(lambda: AccountEmail.objects.get(id=row.id).state == AccountEmail.State.SENT, what="the row marked sent")
    # Sent: the row stays as the log, without the confirmation link it carried.
    sent = AccountEmail.objects.get(id=row.id)
    assert (sent.body_text, sent.body_html) == ("", "") and sent.subject and sent.sent_at
    confirm_from(message, client, "newbie@example.org")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_celery_worker_retries_the_verification_email_until_smtp_is_back(
    smtp_down, celery_worker_process, settings
):
    worker = celery_worker_process(
        env={
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_down.port),
            "PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS": "0.5",
        }
    )
    client = CsrfClient()
    row = assert_signed_up_with_the_email_on_its_way(
        client, sign_up(client, "celery@example.org"), "celery@example.org"
    )
    wait_for(lambda: AccountEmail.objects.get(id=row.id).attempts >= 1, what="the worker's first try")
    assert AccountEmail.objects.get(id=row.id).state != AccountEmail.State.SENT

    handler = smtp_down.start()
    message = wait_for(lambda: next(iter(handler.messages()), None), what="the email from the worker's retry")
    assert message["To"] == "celery@example.org"
    wait_for(lambda: AccountEmail.objects.get(id=row.id).state == AccountEmail.State.SENT, what="the row marked sent")
    assert "accounts.account_email_send" in worker.output()
    confirm_from(message, client, "celery@example.org")


@pytest.mark.django_db(transaction=True)
def test_resend_by_logging_in_sends_a_fresh_link_that_works(smtp_down, settings):
    settings.PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS = 3600  # the first email stays queued through this test
    client = CsrfClient()
    assert_signed_up_with_the_email_on_its_way(client, sign_up(client, "again@example.org"), "again@example.org")
    handler = smtp_down.start()

    # A few minutes later (past the resend rate limit) the newcomer logs in: a fresh link is sent at once.
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        response = CsrfClient().post_form("/accounts/login/", {"login": "again@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    message = wait_for(lambda: next(iter(handler.messages()), None), what="the resent verification email")
    assert AccountEmail.objects.filter(to_email="again@example.org").count() == 2
    confirm_from(message, client, "again@example.org")


class RefusesEveryone:
    """A real SMTP server that refuses every recipient for good, as a relay does for an unknown user."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # aiosmtpd's name
        return "550 5.1.1 No such user here"


@pytest.mark.django_db
def test_a_recipient_refused_for_good_fails_without_retrying_and_leaves_the_due_list(smtp_down, settings):
    row = AccountEmail.objects.create(
        kind="email_confirmation",
        to_email="gone@example.org",
        subject="Confirm your email address for Paperboy",
        body_text="t",
        from_email="Paperboy <digest@localhost>",
        next_attempt_at=timezone.now(),
    )
    assert account_emails_due() == [row.id]
    # SMTP down: the row stays pending with the reason, due again after the backoff.
    outcome = account_email_send(email_id=row.id)
    assert outcome.state == "pending" and outcome.retry_in == settings.PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS
    assert account_emails_due() == []
    assert account_emails_due(now=timezone.now() + timedelta(seconds=outcome.retry_in + 1)) == [row.id]

    controller = sink_start(handler=RefusesEveryone(), port=smtp_down.port)
    try:
        outcome = account_email_send(email_id=row.id)
    finally:
        controller.stop()
    assert (outcome.state, outcome.retry_in) == ("failed", None)
    row.refresh_from_db()
    assert "550" in row.last_error and row.attempts == 2
    assert account_emails_due(now=timezone.now() + timedelta(days=1)) == []
