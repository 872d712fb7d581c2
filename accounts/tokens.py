"""Signed tokens for every link in an email: nobody can forge, alter or reuse one for another purpose.

A token carries the subscription id (and optionally more data) signed with SECRET_KEY and a salt
per purpose, so an unsubscribe token can't be used to view an archive and vice versa.

Every token is also bound to the subscription's email address: the address is part of the signing
key. A token made in another database (the demo's, with the public development key), a restored
backup or for an id that now belongs to someone else names an id whose address differs, and does
nothing there; changing one's address retires the links sent to the old one (security review L5).
Readers pass ``address_of``, which looks the claimed subscription's address up.

Every email mints two of these and dozens of compact feedback tokens, so minting is written for speed:
the per-purpose HMAC keys are derived once and kept as SHA-256 states already fed their key pad (RFC
2104 HMAC, just not re-keyed per token), and a :class:`CompactMinter` works out the issue time once per
email. The bytes are exactly what the straightforward code produced (tested), so reading is unchanged.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing

# One salt per purpose; a token minted for one purpose fails verification for any other.
PURPOSES = frozenset({"unsubscribe", "archive", "preferences", "feedback", "feed"})


class InvalidToken(Exception):
    """The token was tampered with, expired, or made for another purpose."""


# A subscription id -> its current email address (None when there is no such subscription).
AddressOf = Callable[[int], "str | None"]


def _bound_secret(address: str) -> str:
    """The signing key of one subscriber's links: SECRET_KEY and the address they were sent to."""
    return f"{settings.SECRET_KEY}\x00{address.strip().lower()}"


def _salt(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return f"paperboy.tokens.{purpose}"


# --- HMAC-SHA256 without re-keying per message ------------------------------------------------------

_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class _HmacSha256:
    """HMAC-SHA256 under one key (``hmac.digest(key, message, "sha256")``), with the padded-key blocks
    hashed once.

    HMAC is H((K ^ opad) || H((K ^ ipad) || m)); the states after the first block of each hash depend on
    the key only, so they are kept and copied per message (~2.5x faster than ``hmac.digest``).
    """

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # SHA-256's block size; longer keys are hashed first (RFC 2104)
            key = hashlib.sha256(key).digest()
        padded = key.ljust(64, b"\0")
        self.inner, self.outer = hashlib.sha256(padded.translate(_IPAD)), hashlib.sha256(padded.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _b64url(data: bytes) -> str:
    """URL-safe base64 without padding (django.core.signing's ``b64_encode``, as text)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


# --- Django-signed tokens (unsubscribe, archive, feed) -----------------------------------------------

_JSON = json.JSONEncoder(separators=(",", ":"))  # what signing.JSONSerializer writes


@functools.lru_cache(maxsize=1024)
def _signing_hmac(secret: str, salt: str) -> _HmacSha256:
    # django.core.signing's Signer: salted_hmac(salt + "signer", value, secret, algorithm="sha256")
    return _HmacSha256(hashlib.sha256(f"{salt}signer{secret}".encode()).digest())


def token_make(*, purpose: str, subscription_id: int, address: str, data: dict[str, Any] | None = None) -> str:
    """Exactly ``signing.dumps(payload, key=<bound key>, salt=<purpose's salt>, compress=True)`` (tested),
    read by :func:`token_read` with ``signing.loads``; minted without Django's per-call signer set-up and
    key derivation, since every email carries two. ``address``: where the link is sent."""
    payload: dict[str, Any] = {"s": subscription_id}
    if data:
        payload["d"] = data
    raw = _JSON.encode(payload).encode("latin-1")
    compressed = zlib.compress(raw)
    body = "." + _b64url(compressed) if len(compressed) < len(raw) - 1 else _b64url(raw)
    value = f"{body}:{signing.b62_encode(int(time.time()))}"
    mac = _signing_hmac(_bound_secret(address), _salt(purpose)).digest(value.encode())
    return f"{value}:{_b64url(mac)}"


def _claimed_subscription(token: str) -> int | None:
    """The subscription id a signed token claims, read *before* verifying (to find whose key)."""
    body = token.split(":", 1)[0]
    try:
        raw = signing.b64_decode(body.removeprefix(".").encode())
        if body.startswith("."):
            raw = zlib.decompressobj().decompress(raw, 4096)
        claimed = json.loads(raw)
    except (ValueError, zlib.error, UnicodeDecodeError):
        return None
    sid = claimed.get("s") if isinstance(claimed, dict) else None
    return sid if isinstance(sid, int) and not isinstance(sid, bool) else None


def token_read(
    *, purpose: str, token: str, address_of: AddressOf, max_age_seconds: int | None = None
) -> tuple[int, dict[str, Any]]:
    """Return ``(subscription_id, data)`` or raise :class:`InvalidToken`."""
    claimed = _claimed_subscription(token)
    address = address_of(claimed) if claimed is not None else None
    if not address:
        raise InvalidToken("This link is not valid.")
    try:
        payload = signing.loads(token, key=_bound_secret(address), salt=_salt(purpose), max_age=max_age_seconds)
    except signing.SignatureExpired as exc:
        raise InvalidToken("This link has expired.") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("This link is not valid.") from exc
    if not isinstance(payload, dict) or payload.get("s") != claimed:
        raise InvalidToken("This link is not valid.")
    return claimed, payload.get("d") or {}


# --- Compact tokens -------------------------------------------------------------------------------
# A digest carries several feedback links per paper card, so a token per link must cost about a
# microsecond, not the ~10-15 µs of ``signing.dumps`` (JSON, zlib, base64, key derivation per call).
# A compact token is ``<fields joined by '.'>.<issued, base36 seconds>.<MAC>`` where the MAC is a
# truncated HMAC-SHA256 of everything before it under a key derived once per purpose. Fields must
# not contain '.'; callers encode free text (e.g. a word) with :func:`text_field`.

_MAC_BYTES = 12  # 96 bits: ample against forgery for links that expire


@functools.lru_cache(maxsize=32)
def _compact_key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"paperboy.compact.{purpose}\x00{secret}".encode()).digest()


@functools.lru_cache(maxsize=1024)
def _compact_hmac(secret: str, salt: str) -> _HmacSha256:
    return _HmacSha256(_compact_key(secret, salt))


def _mac(purpose: str, message: str, *, address: str) -> str:
    hmac_ = _compact_hmac(_bound_secret(address), _salt(purpose))
    return _b64url(hmac_.digest(message.encode())[:_MAC_BYTES])


@functools.lru_cache(maxsize=8192)
def text_field(value: str) -> str:
    """Free text as a token field (URL-safe, no dots). Cached: the same words recur in every email."""
    return _b64url(value.encode())


def text_field_read(value: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("This link is not valid.") from exc


class CompactMinter:
    """Mints compact tokens for one purpose, all issued now: key and issue time are worked out once
    (make one per email), so each token costs a string join and one HMAC."""

    __slots__ = ("_hmac", "_issued")

    def __init__(self, purpose: str, *, address: str, issued_at: float | None = None) -> None:
        """``address``: where the links are sent (part of the key). ``issued_at`` (epoch seconds): sign
        as of then, so the tokens expire when the originals do."""
        self._hmac = _compact_hmac(_bound_secret(address), _salt(purpose))
        self._issued = "." + _base36(int(time.time() if issued_at is None else issued_at))

    def make(self, fields: tuple[str, ...]) -> str:
        """A token over ``fields`` (text; none may contain '.')."""
        body = ".".join(fields)
        if body.count(".") >= max(len(fields), 1):  # one C call instead of a test per field
            raise ValueError("compact token fields must not contain '.'; encode text with text_field()")
        return self.sign(body)

    def sign(self, body: str) -> str:
        """A token over fields the caller has joined with '.' itself -- and vouches contain no other '.'
        (numbers, names from a fixed set, :func:`text_field` output): the hot path of :meth:`make`."""
        message = body + self._issued
        mac = self._hmac.digest(message.encode())[:_MAC_BYTES]
        # _MAC_BYTES is a multiple of 3, so the base64 has no padding to strip.
        return f"{message}.{binascii.b2a_base64(mac, newline=False).translate(_URLSAFE).decode()}"


def compact_token_make(*, purpose: str, address: str, fields: tuple[str | int, ...]) -> str:
    """A compact token whose first field is the subscription id, bound to ``address``."""
    return CompactMinter(purpose, address=address).make(tuple(str(field) for field in fields))


def compact_token_read(*, purpose: str, token: str, max_age_seconds: int, address_of: AddressOf) -> tuple[str, ...]:
    """The fields of a compact token (the first is the subscription id, whose address is part of the
    key), or :class:`InvalidToken` if altered, expired, malformed or made for another address."""
    message, _, mac = token.rpartition(".")
    claimed = message.split(".", 1)[0]
    address = address_of(int(claimed)) if claimed.isascii() and claimed.isdigit() and len(claimed) < 19 else None
    if not message or not address or not hmac.compare_digest(mac, _mac(purpose, message, address=address)):
        raise InvalidToken("This link is not valid.")
    *fields, issued = message.split(".")
    try:
        age = time.time() - int(issued, 36)
    except ValueError as exc:
        raise InvalidToken("This link is not valid.") from exc
    if age > max_age_seconds:
        raise InvalidToken("This link has expired.")
    return tuple(fields)


@functools.lru_cache(maxsize=4)
def _base36(number: int) -> str:
    # Cached: one issue time per second, however many emails are minted in it.
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
