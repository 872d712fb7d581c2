"""Speaking SMTP, and what a server's reply means for the row: the retry rule lives here.

A reply is classified once (:func:`smtp_error_classify`): 4xx, a dropped connection or a timeout is
transient and retried with exponential backoff (:func:`retry_at`) until ``PAPERBOY_MAX_ATTEMPTS``;
5xx is permanent (except 552) and, when it is about the recipient, suppresses the address.
"""

from __future__ import annotations

import logging
import random
import smtplib
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


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


def retry_at(*, error: SendError, attempts: int, allow_retry: bool, now: datetime) -> datetime | None:
    """When a failed attempt is tried again, or None when it is not (permanent, or attempts used up)."""
    if error.permanent or not allow_retry or attempts >= settings.PAPERBOY_MAX_ATTEMPTS:
        return None
    return now + timedelta(seconds=retry_delay(attempts=attempts))


def retry_delay(*, attempts: int) -> float:
    """Exponential backoff with jitter (50-100% of the step), so retries from many workers do not arrive together."""
    base = settings.PAPERBOY_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, settings.PAPERBOY_RETRY_MAX_SECONDS) * (0.5 + random.random() / 2)


class SmtpSession:
    """One SMTP connection of a chunk (it has PAPERBOY_SMTP_CONNECTIONS), reopened after a disconnect and
    after ``max_messages``.

    The connection is Django's configured backend (TLS, authentication and timeouts come from the
    EMAIL_* settings). With the SMTP backend, a digest's MIME bytes (written by ``digest.email.mime``) go
    straight to ``smtplib`` with BODY=8BITMIME when the server offers it (RFC 6152), else as 7-bit
    quoted-printable; any other backend (console, file, a provider's API) gets the message object.
    """

    def __init__(self, *, max_messages: int) -> None:
        self.max_messages = max_messages
        self.connection: BaseEmailBackend | None = None
        self.sent_on_connection = 0

    def send(self, message) -> None:
        backend = self.connection
        if backend is None or self.sent_on_connection >= self.max_messages:
            self.close()
            # Every socket operation (connect, each command, each reply) times out after EMAIL_TIMEOUT.
            backend = self.connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
            backend.open()
            self.sent_on_connection = 0
        smtp = getattr(backend, "connection", None)
        if isinstance(smtp, smtplib.SMTP) and hasattr(message, "mime_bytes"):
            self._send_bytes(smtp, message)
        else:
            message.connection = backend
            if not backend.send_messages([message]):
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
