"""What identifies a digest on the wire: its Message-ID and the envelope that brings its bounces back."""

from __future__ import annotations

import os

from django.conf import settings

from digest.delivery.bounce_parse import bounce_address, bounce_token_make


def message_id_make() -> str:
    return message_ids_make(count=1)[0]


def message_ids_make(*, count: int) -> list[str]:
    """``count`` new Message-IDs: 128 random bits each, as uuid4 has (122), without making UUID objects,
    read from the system's random source in one call for all of them (the planner makes one per row)."""
    digits = os.urandom(16 * count).hex()
    domain = settings.SITE_DOMAIN
    return [f"<{digits[at : at + 32]}.digest@{domain}>" for at in range(0, 32 * count, 32)]


def message_envelope_set(message, *, delivery_id: int) -> None:
    """Bounces must find their Delivery: a VERP envelope sender and a signed header.

    Django's SMTP backend uses ``from_email`` as the envelope sender and the ``From`` header unless
    ``extra_headers`` has one, so the visible From stays what the email builder chose.
    """
    message.extra_headers["X-Paperboy-Delivery"] = bounce_token_make(delivery_id)
    if settings.PAPERBOY_VERP:
        message.extra_headers.setdefault("From", message.from_email)
        message.from_email = bounce_address(delivery_id)
