"""Speaking SMTP, and what a server's reply means for the row: the retry rule lives here.

A reply is classified once (:func:`smtp_error_classify`), by its enhanced status code and the phase it
came in (``digest.delivery.replies``): 4xx, a dropped connection or a timeout is transient and retried
with exponential backoff (:func:`retry_at`) until ``PAPERBOY_MAX_ATTEMPTS``; a permanent refusal fails
the row, and then only a refusal about the recipient's mailbox suppresses the address, a bare 5xx adds
to its bounce score, and a refusal of *us* (our HELO, our sender, a policy) pauses sending.

Every transaction has a wall-clock deadline (``digest.delivery.deadline``), and the session greets the
relay with ``PAPERBOY_SMTP_HELO`` (``digest.apps``).
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

from digest.delivery.deadline import Deadline
from digest.delivery.replies import Action, Phase, Verdict, reply_classify

logger = logging.getLogger(__name__)


class SendError(Exception):
    """One message was not accepted; ``permanent`` says whether trying again can help.

    ``verdict`` (when the server replied) says what the refusal was about: ``suppress`` is true only
    for a permanent refusal of the recipient's mailbox, ``score`` for a bare 5xx that may be one,
    ``pauses`` for a refusal of the sending side (nothing else will get through either).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: int | None = None,
        connection_broken: bool = False,
        verdict: Verdict | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.connection_broken = connection_broken
        self.verdict = verdict

    @property
    def suppress(self) -> bool:
        return self.verdict is not None and self.verdict.action is Action.SUPPRESS

    @property
    def score(self) -> bool:
        return self.verdict is not None and self.verdict.action is Action.SCORE

    @property
    def pauses(self) -> bool:
        return self.verdict is not None and self.verdict.action is Action.PAUSE


def reply_error(*, code: int, reply: bytes | str, phase: Phase) -> SendError:
    """A SendError for one SMTP reply; a 421 means the server is closing the connection, at any phase."""
    text = decode_reply(reply)
    verdict = reply_classify(code=code, text=text, phase=phase)
    return SendError(
        f"{code} {text}", permanent=verdict.permanent, code=code, connection_broken=code == 421, verdict=verdict
    )


# Where smtplib's exceptions come from in the dialogue.
_PHASES: tuple[tuple[type[smtplib.SMTPResponseException], Phase], ...] = (
    (smtplib.SMTPSenderRefused, Phase.MAIL),
    (smtplib.SMTPDataError, Phase.DATA),
)


def smtp_error_classify(exc: BaseException) -> SendError:
    """Turn what smtplib raised into a SendError (the retry and suppression rules are in ``replies``)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return reply_error(code=code, reply=reply, phase=Phase.RCPT)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendError(f"server disconnected: {exc}", permanent=False, connection_broken=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        # The greeting, EHLO, STARTTLS or AUTH when it is neither MAIL FROM nor DATA.
        phase = next((phase for kind, phase in _PHASES if isinstance(exc, kind)), Phase.CONNECT)
        return reply_error(code=exc.smtp_code, reply=exc.smtp_error, phase=phase)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return SendError(f"timed out talking to the SMTP server: {exc}", permanent=False, connection_broken=True)
    if isinstance(exc, OSError):
        return SendError(f"cannot reach the SMTP server: {exc}", permanent=False, connection_broken=True)
    return SendError(f"{type(exc).__name__}: {exc}", permanent=True)


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
        self.deadline = Deadline(seconds=settings.PAPERBOY_SMTP_DEADLINE_SECONDS)

    def send(self, message) -> None:
        """One SMTP transaction (connecting first when needed), cut at PAPERBOY_SMTP_DEADLINE_SECONDS."""
        try:
            with self.deadline.watch(self._socket):
                self._send(message)
        except Exception as exc:
            if not self.deadline.expired:
                raise
            raise SendError(
                f"the SMTP transaction passed its deadline of {self.deadline.seconds:g} s "
                f"(PAPERBOY_SMTP_DEADLINE_SECONDS); the relay is too slow or tarpitting: {exc}",
                permanent=False,
                connection_broken=True,
            ) from exc

    def _socket(self) -> socket.socket | None:
        return getattr(getattr(self.connection, "connection", None), "sock", None)

    def _send(self, message) -> None:
        backend = self.connection
        if backend is None or self.sent_on_connection >= self.max_messages:
            self.close()
            # Every socket operation (connect, each command, each reply) times out after EMAIL_TIMEOUT;
            # the transaction as a whole after PAPERBOY_SMTP_DEADLINE_SECONDS (see send).
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
