"""Signed tokens for every link in an email: nobody can forge, alter or reuse one for another purpose.

A token carries the subscription id (and optionally more data) signed with SECRET_KEY and a salt
per purpose, so an unsubscribe token can't be used to view an archive and vice versa.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
from typing import Any

from django.conf import settings
from django.core import signing

# One salt per purpose; a token minted for one purpose fails verification for any other.
PURPOSES = frozenset({"unsubscribe", "archive", "preferences", "feedback", "feed"})


class InvalidToken(Exception):
    """The token was tampered with, expired, or made for another purpose."""


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"paperboy.tokens.{purpose}"


def token_make(*, purpose: str, subscription_id: int, data: dict[str, Any] | None = None) -> str:
    payload: dict[str, Any] = {"s": subscription_id}
    if data:
        payload["d"] = data
    return signing.dumps(payload, salt=_salt(purpose), compress=True)


def token_read(*, purpose: str, token: str, max_age_seconds: int | None = None) -> tuple[int, dict[str, Any]]:
    """Return ``(subscription_id, data)`` or raise :class:`InvalidToken`."""
    try:
        payload = signing.loads(token, salt=_salt(purpose), max_age=max_age_seconds)
    except signing.SignatureExpired as exc:
        raise InvalidToken("This link has expired.") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("This link is not valid.") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise InvalidToken("This link is not valid.")
    return payload["s"], payload.get("d") or {}


# --- Compact tokens -------------------------------------------------------------------------------
# A digest carries several feedback links per paper card, so a token per link must cost
# microseconds, not the ~50-150 µs of ``signing.dumps`` (JSON, zlib, base64, key derivation per
# call). A compact token is ``<fields joined by '.'>.<issued, base36 seconds>.<MAC>`` where the MAC
# is a truncated HMAC-SHA256 under a key derived once per purpose. Fields must not contain '.';
# callers encode free text (e.g. a word) with :func:`text_field`.

_MAC_BYTES = 12  # 96 bits: ample against forgery for links that expire


@functools.lru_cache(maxsize=32)
def _compact_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"paperboy.compact.{purpose}\x00{secret}".encode()).digest()


def _mac(purpose: str, message: str) -> str:
    digest = hmac.new(_compact_key(settings.SECRET_KEY, _salt(purpose)), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode().rstrip("=")


def text_field(value: str) -> str:
    """Free text as a token field (URL-safe, no dots)."""
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def text_field_read(value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("This link is not valid.") from exc


def compact_token_make(*, purpose: str, fields: tuple[str | int, ...]) -> str:
    body = ".".join(str(field) for field in fields)
    if any("." in str(field) for field in fields):
        raise ValueError("compact token fields must not contain '.'; encode text with text_field()")
    message = f"{body}.{_base36(int(time.time()))}"
    return f"{message}.{_mac(purpose, message)}"


def compact_token_read(*, purpose: str, token: str, max_age_seconds: int) -> tuple[str, ...]:
    """The fields of a compact token, or :class:`InvalidToken` if altered, expired or malformed."""
    message, _, mac = token.rpartition(".")
    if not message or not hmac.compare_digest(mac, _mac(purpose, message)):
        raise InvalidToken("This link is not valid.")
    *fields, issued = message.split(".")
    try:
        age = time.time() - int(issued, 36)
    except ValueError as exc:
        raise InvalidToken("This link is not valid.") from exc
    if age > max_age_seconds:
        raise InvalidToken("This link has expired.")
    return tuple(fields)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
