"""What identifies a digest on the wire: its Message-ID and the envelope that brings its bounces back."""

from __future__ import annotations

import secrets

from django.conf import settings

from digest.delivery.bounce_parse import bounce_address, bounce_token_make


def message_id_make() -> str:
    # 128 random bits, as uuid4 has (122), without making a UUID object: the planner makes one per row.
    return f"<{secrets.token_hex(16)}.digest@{settings.SITE_DOMAIN}>"


def message_envelope_set(message, *, delivery_id: int) -> None:
    """Bounces must find their Delivery: a VERP envelope sender and a signed header.

    Django's SMTP backend uses ``from_email`` as the envelope sender and the ``From`` header unless
    ``extra_headers`` has one, so the visible From stays what the email builder chose.
    """
    message.extra_headers["X-Paperboy-Delivery"] = bounce_token_make(delivery_id)
    if settings.PAPERBOY_VERP:
        message.extra_headers.setdefault("From", message.from_email)
        message.from_email = bounce_address(delivery_id)
