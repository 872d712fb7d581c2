"""Bounce addresses and delivery status notifications (RFC 3464), as plain data; no ORM here.

Every digest leaves with a VERP envelope sender ``bounces+<id>-<mac>@<bounce domain>`` and a
``X-Paperboy-Delivery: <id>-<mac>`` header. A bounce comes back to that address (the receiving MTA
copies the envelope sender into ``Return-Path``), so the delivery is known even from a bounce that
quotes nothing of the original. The MAC (HMAC of the id with SECRET_KEY) means nobody can forge a
bounce that suppresses someone else's address. The token is lowercase letters and digits only,
because some MTAs fold the case of local parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "paperboy.bounces.delivery"
_MAC_LENGTH = 16
_TOKEN_RE = re.compile(r"(?<![0-9a-z])(\d{1,18})-([0-9a-f]{16})(?![0-9a-z])", re.IGNORECASE)
_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")

HARD = "hard"
SOFT = "soft"

# Enhanced status codes (RFC 3463) that say "try later" although the class is 5: a full mailbox
# (5.2.2) and a message too big for it now (5.2.3) fill up and empty again.
SOFT_PERMANENT_CODES = frozenset({"5.2.2", "5.2.3"})


def bounce_token_make(delivery_id: int) -> str:
    mac = salted_hmac(_SALT, str(delivery_id), algorithm="sha256").hexdigest()[:_MAC_LENGTH]
    return f"{delivery_id}-{mac}"


def bounce_token_read(token: str) -> int | None:
    """The delivery id of a genuine token, or None for anything forged, garbled or foreign."""
    match = _TOKEN_RE.fullmatch(token.strip())
    if not match:
        return None
    delivery_id = int(match.group(1))
    return delivery_id if constant_time_compare(bounce_token_make(delivery_id), token.strip().lower()) else None


def bounce_address(delivery_id: int) -> str:
    return f"{settings.PAPERBOY_BOUNCE_LOCALPART}+{bounce_token_make(delivery_id)}@{settings.PAPERBOY_BOUNCE_DOMAIN}"


def bounce_tokens_in(text: str) -> list[int]:
    """Genuine delivery ids found anywhere in ``text`` (addresses, headers, quoted originals)."""
    found: list[int] = []
    for match in _TOKEN_RE.finditer(text or ""):
        delivery_id = bounce_token_read(match.group(0))
        if delivery_id is not None and delivery_id not in found:
            found.append(delivery_id)
    return found


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    """One ``per-recipient`` block of a DSN."""

    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # "5.1.1"
    diagnostic: str = ""

    @property
    def kind(self) -> str | None:
        """hard, soft, or None when this block reports no problem."""
        if self.action in {"delivered", "relayed", "expanded"}:
            return None
        if self.action == "delayed" or self.status.startswith("4."):
            return SOFT
        if self.status.startswith("5."):
            return SOFT if self.status in SOFT_PERMANENT_CODES else HARD
        return SOFT if self.action == "failed" else None


@dataclass(frozen=True, slots=True)
class BounceReport:
    """What one bounce message says: which delivery, hard or soft, and why."""

    delivery_ids: tuple[int, ...]
    kind: str | None  # hard | soft | None (not a bounce: an auto-reply, a success notice)
    status: str = ""
    diagnostic: str = ""
    recipients: tuple[RecipientStatus, ...] = field(default_factory=tuple)
    is_dsn: bool = False

    @property
    def summary(self) -> str:
        text = " ".join(part for part in (self.status, self.diagnostic) if part)
        return f"bounced ({self.kind}): {text}"[:1000] if self.kind else "not a bounce"


def bounce_parse(raw: bytes) -> BounceReport:
    """Read one message from the bounce mailbox. Never raises on malformed input."""
    message = message_from_bytes(raw, policy=policy.compat32)
    ids = delivery_ids_of(message)
    report_part = dsn_part(message)
    if report_part is None:
        # Not an RFC 3464 report: an old-style bounce or an auto-reply. Only a clear 5.x.x/4.x.x in a
        # message addressed to our VERP address counts, and then only as soft (we cannot be sure).
        text = _text_of(message)
        status = _STATUS_RE.search(text) if ids else None
        kind = SOFT if status else None
        return BounceReport(delivery_ids=tuple(ids), kind=kind, status=status.group(0) if status else "")
    recipients = tuple(dsn_recipients(report_part))
    kinds = [r.kind for r in recipients if r.kind]
    kind = HARD if HARD in kinds else (SOFT if kinds else None)
    worst = next((r for r in recipients if r.kind == kind), None)
    return BounceReport(
        delivery_ids=tuple(ids),
        kind=kind,
        status=worst.status if worst else "",
        diagnostic=worst.diagnostic[:500] if worst else "",
        recipients=recipients,
        is_dsn=True,
    )


def delivery_ids_of(message: Message) -> list[int]:
    """Ids from the VERP address the bounce was sent to, then from the quoted original's headers."""
    ids: list[int] = []
    for header in ("X-Original-To", "Delivered-To", "To", "Envelope-To"):
        for value in message.get_all(header, []):
            ids += [i for i in bounce_tokens_in(str(value)) if i not in ids]
    for part in message.walk():
        if part.get_content_type() in {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"}:
            quoted = _payload_text(part)
            for line in quoted.splitlines():
                if line.lower().startswith(("x-paperboy-delivery:", "return-path:")):
                    ids += [i for i in bounce_tokens_in(line) if i not in ids]
    return ids


def dsn_part(message: Message) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            return part
    return None


def dsn_recipients(part: Message) -> list[RecipientStatus]:
    """The per-recipient blocks of a ``message/delivery-status`` part (RFC 3464 §2.3)."""
    recipients: list[RecipientStatus] = []
    for block in _dsn_blocks(_payload_text(part)):
        recipient = block.get("final-recipient") or block.get("original-recipient")
        action = block.get("action", "").lower()
        if not recipient or not action:
            continue
        status_match = _STATUS_RE.search(block.get("status", ""))
        recipients.append(
            RecipientStatus(
                recipient=recipient.split(";", 1)[-1].strip(),
                action=action,
                status=status_match.group(0) if status_match else "",
                diagnostic=block.get("diagnostic-code", "").split(";", 1)[-1].strip(),
            )
        )
    return recipients


def _dsn_blocks(text: str) -> list[dict[str, str]]:
    """Blank-line separated groups of ``Field: value`` lines, with folded continuation lines."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _payload_text(part: Message) -> str:
    """A part's content as text, whether the parser left it as bytes, a string or sub-messages."""
    payload = part.get_payload(decode=False)
    if isinstance(payload, list):
        return "\n\n".join(sub.as_string() if isinstance(sub, Message) else str(sub) for sub in payload)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    decoded = part.get_payload(decode=True)
    if isinstance(decoded, bytes) and part.get("Content-Transfer-Encoding", "").lower() in {
        "base64",
        "quoted-printable",
    }:
        return decoded.decode(part.get_content_charset() or "utf-8", "replace")
    return str(payload or "")


def _text_of(message: Message) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            texts.append(_payload_text(part))
    return "\n".join(texts)
