"""Signed tokens for every link in an email: nobody can forge, alter or reuse one for another purpose.

A token carries the subscription id (and optionally more data) signed with SECRET_KEY and a salt
per purpose, so an unsubscribe token can't be used to view an archive and vice versa.
"""

from __future__ import annotations

from typing import Any

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
