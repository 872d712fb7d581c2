"""The message: subject, text and HTML parts, the headers bulk senders need, and its MIME bytes --
DKIM-signed (``digest.email.dkim``) when PAPERBOY_DKIM_* is set, over exactly the bytes that are sent."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from digest.email.caches import registered
from digest.email.clean import display_text
from digest.email.contract import DigestEmail
from digest.email.dkim import dkim_headers, dkim_signers_configured
from digest.email.html import html_budgeted, html_fast
from digest.email.mime import PreparedMime, address_encode, alternative_pieces, header_encode
from digest.email.subject import subject_fast
from digest.email.text import text_fast
from digest.email.view import view_make

_MESSAGE_ID_RE = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


@registered
@functools.lru_cache(maxsize=4)
def _date_header(now: datetime) -> str:
    return format_datetime(now)  # one formatting per second, not per email


@registered
@functools.lru_cache(maxsize=8)
def _from_header(setting: str) -> str:
    """DEFAULT_FROM_EMAIL, given the display name "Paperboy" when it has none."""
    value = display_text(setting)
    name, address = parseaddr(value)
    return value if name else formataddr(("Paperboy", address))


class DigestMessage(EmailMultiAlternatives):
    """A digest as Django's email object (subject, body, the HTML alternative, headers), whose MIME
    form is written by :mod:`digest.email.mime` instead of Python's ``email`` package (a tenth of the cost).

    ``from_email`` is the envelope sender (a VERP bounce address in production); the visible From
    is ``extra_headers["From"]`` when set. Any Django backend can send it (``message()``); the
    delivery service writes ``mime_bytes`` to the SMTP connection itself, with BODY=8BITMIME.
    """

    def mime_bytes(self, *, allow_8bit: bool = True) -> bytes:
        visible_from = self.extra_headers.get("From", self.from_email)
        headers = [
            ("From", address_encode(visible_from)),
            ("To", ", ".join(address_encode(address) for address in self.to)),
            ("Subject", header_encode(str(self.subject))),
            *((name, header_encode(value)) for name, value in self.extra_headers.items() if name != "From"),
        ]
        html = str(self.alternatives[0][0]) if self.alternatives else None  # attach_alternative put a str there
        head, body = alternative_pieces(headers=headers, text=str(self.body), html=html, allow_8bit=allow_8bit)
        # Signed last, over these very bytes: 8bit, or quoted-printable for a relay without 8BITMIME.
        signers = dkim_signers_configured()
        signatures = dkim_headers(head=head, body=body, signers=signers) if signers else b""
        return b"".join((signatures, head, b"\r\n", *body))

    def message(self, *args: object, **kwargs: object) -> PreparedMime:  # type: ignore[override]
        return PreparedMime(self.mime_bytes())


@registered
@functools.lru_cache(maxsize=64)
def _feedback_id(day: str, frequency: str, kind: str, sender: str) -> str:
    """Gmail's ``Feedback-ID: a:b:c:SenderId``: complaints are reported per value of each field, so
    the fields group (the day's digest, its frequency, digest or quiet note), never name one message."""
    return f"{day}:{frequency}:{kind}:{sender}"


def digest_message_build(email: DigestEmail, *, connection: Any = None) -> DigestMessage:
    """multipart/alternative (text first, then HTML) with the headers bulk senders need (RFC 2369, RFC 8058)."""
    if not _MESSAGE_ID_RE.fullmatch(email.message_id):
        raise ValueError(f"message_id must look like '<id@domain>', got {email.message_id!r}")
    if display_text(email.recipient) != email.recipient or "@" not in email.recipient:
        raise ValueError(f"recipient is not a plain email address: {email.recipient!r}")
    view = view_make(email)  # one view for all three parts
    headers = {
        "Message-ID": email.message_id,
        "Date": _date_header(timezone.now().replace(microsecond=0)),
        "List-Id": display_text(settings.PAPERBOY_LIST_ID),
        "List-Unsubscribe": f"<{view.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        # RFC 3834: vacation responders and other robots do not answer an automatic message.
        "Auto-Submitted": "auto-generated",
        "Feedback-ID": _feedback_id(
            f"{email.digest_date:%Y%m%d}", email.frequency, email.kind, settings.PAPERBOY_FEEDBACK_ID_SENDER
        ),
    }
    if settings.PAPERBOY_REPLY_TO:
        headers["Reply-To"] = display_text(settings.PAPERBOY_REPLY_TO)
    message = DigestMessage(
        subject=subject_fast(view, len(email.items), test=email.test),
        body=text_fast(view),
        from_email=_from_header(settings.DEFAULT_FROM_EMAIL),
        to=[email.recipient],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html_budgeted(email, for_browser=False, render=html_fast, first=view), "text/html")
    return message
