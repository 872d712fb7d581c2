"""What an SMTP refusal means, from its code, its enhanced status code and the phase it came in.

Plain data in, a decision out; no ORM, no sockets. The delivery code asks this module two
questions about every refusal: may the recipient's address be suppressed, and is the relay
refusing *us* (then nothing else will get through either, so sending pauses at once)?

Why the phase alone is not enough: Postfix, like most MTAs, runs with ``smtpd_delay_reject=yes``
and reports a refused HELO, client or sender at RCPT time (``504 5.5.2 <localhost>: Helo command
rejected``, ``554 5.7.1 <bounces+…>: Sender address rejected``). Those replies are about the
sending side, even though they answer a RCPT. So the enhanced status code (RFC 3463, with the
subject/detail registry of RFC 5248) decides, and the phase and the reply's words only refine it:

* ``X.1.1`` bad mailbox, ``X.1.2`` bad system, ``X.1.3`` bad mailbox syntax, ``X.1.6`` mailbox
  moved, ``X.1.10`` null MX, ``X.2.1`` mailbox disabled: about the recipient -> **mailbox**.
  Permanent ones may suppress.
* ``X.1.7`` / ``X.1.8`` bad sender address / sender system, ``X.7.x`` security or policy,
  ``X.5.x`` protocol, ``X.3.x`` mail system, ``X.4.x`` network: about us or the relay ->
  **sender** (X.1.7, X.1.8, replies naming the HELO, client or sender), **policy** (X.7.x) or
  **system** (the rest). Never suppress; a permanent one pauses sending.
* ``X.2.2`` mailbox full, ``X.2.3`` message too big for it: fill up and empty again -> transient.
* No enhanced code: a 5xx at RCPT that names nothing else is *probably* about the mailbox, but a
  bare 550 is also what many relays say for "relaying denied". It counts towards the address's
  bounce score (suppressed after ``PAPERBOY_BOUNCE_SCORE_LIMIT`` across digests), never at once.

A permanent refusal at MAIL FROM, or at DATA (after the recipient was accepted), is never about the
mailbox: the recipient was not even named yet, or was accepted.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Phase(enum.StrEnum):
    """Where in the SMTP dialogue the reply came (CONNECT covers the greeting, EHLO, STARTTLS, AUTH)."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


class Cause(enum.StrEnum):
    """Whom the refusal is about."""

    MAILBOX = "mailbox"  # this recipient's address
    SENDER = "sender"  # our envelope sender, HELO name or client address
    POLICY = "policy"  # security or content policy (X.7.x): spam filters, DMARC, authentication
    SYSTEM = "system"  # the relay itself or the protocol (X.3.x, X.4.x, X.5.x, odd replies)
    MESSAGE = "message"  # this message's content or size (X.6.x, 552 / X.3.4 at DATA)


class Action(enum.StrEnum):
    """What delivery does with the row and the address."""

    RETRY = "retry"  # transient: the row goes back to pending with backoff
    SUPPRESS = "suppress"  # permanent and about the mailbox: row failed, address suppressed
    SCORE = "score"  # permanent, probably the mailbox, no proof: row failed, address bounce score + 1
    FAIL = "fail"  # permanent and about this message only: row failed
    PAUSE = "pause"  # permanent and about us: row failed (or waits), sending paused, operator told


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    cause: Cause
    code: int | None
    enhanced: str  # "5.1.1", or "" when the reply carried none
    phase: Phase

    @property
    def permanent(self) -> bool:
        return self.action is not Action.RETRY

    @property
    def suppress(self) -> bool:
        return self.action is Action.SUPPRESS

    @property
    def pauses(self) -> bool:
        return self.action is Action.PAUSE


_ENHANCED_RE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")

# Permanent refusals about the recipient's mailbox (RFC 3463 §3.2 and §3.3, RFC 7505 for X.1.10).
MAILBOX_CODES = frozenset({"1.1", "1.2", "1.3", "1.4", "1.6", "1.10", "2.1"})
# About the envelope sender (RFC 3463 §3.2).
SENDER_CODES = frozenset({"1.7", "1.8"})
# Mailbox full, message too large for the mailbox: they empty again (RFC 5321 §4.5.3.1.10 on 552).
FULL_CODES = frozenset({"2.2", "2.3"})

# Words in a reply that say the refusal is about the sending side, whatever code it came with.
_ABOUT_US = re.compile(
    r"helo command rejected|client host rejected|sender address rejected|sender domain|"
    r"\bhelo\b|\behlo\b|relay(ing)? (access )?denied|not permitted to relay|authentication required|"
    r"\bspf\b|\bdmarc\b|\bdkim\b|blocked using|listed (at|on|in)\b|\brbl\b|\bblocklist|blacklist|"
    r"reverse (dns|hostname)|\bptr\b",
    re.IGNORECASE,
)


def enhanced_code(text: str) -> str:
    """The RFC 3463 code at the start of a reply's text ("5.1.1 <x>: ..." -> "5.1.1"), or ""."""
    match = _ENHANCED_RE.match(text)
    return ".".join(match.groups()) if match else ""


def reply_classify(*, code: int | None, text: str, phase: Phase) -> Verdict:
    """Decide what one SMTP reply (``code``, its text after the code) at ``phase`` means.

    ``code`` None means no reply at all (a dropped connection, a timeout): transient.
    """
    enhanced = enhanced_code(text)
    if code is None or code < 400:
        return Verdict(Action.RETRY, Cause.SYSTEM, code, enhanced, phase)
    detail = enhanced.split(".", 1)[1] if enhanced else ""
    transient = code < 500 or (enhanced.startswith("4.") if enhanced else False)
    cause = _cause(code=code, detail=detail, text=text, phase=phase)
    if transient or (cause is Cause.MAILBOX and detail in FULL_CODES) or (code == 552 and not enhanced):
        # 4xx, a full mailbox, or a bare 552 (RFC 5321 says to treat it as temporary).
        return Verdict(Action.RETRY, cause, code, enhanced, phase)
    if cause is Cause.MAILBOX:
        action = Action.SUPPRESS if detail in MAILBOX_CODES else Action.SCORE
    elif cause is Cause.MESSAGE:
        action = Action.FAIL
    else:
        action = Action.PAUSE
    return Verdict(action, cause, code, enhanced, phase)


def _cause(*, code: int, detail: str, text: str, phase: Phase) -> Cause:
    """Whom a refusal is about; see the module docstring for the table."""
    if detail in SENDER_CODES or _ABOUT_US.search(text):
        return Cause.SENDER
    subject = detail.split(".", 1)[0] if detail else ""
    if subject == "7":
        return Cause.POLICY
    if subject in {"3", "4", "5"}:
        # X.3.4 "message too big for system" and X.5.3 "too many recipients" aside, about the relay.
        return Cause.MESSAGE if detail in {"3.4"} else Cause.SYSTEM
    if subject == "6":
        return Cause.MESSAGE
    if phase in {Phase.CONNECT, Phase.MAIL}:
        return Cause.SENDER if phase is Phase.MAIL else Cause.SYSTEM
    if phase is Phase.DATA:
        # The recipient was accepted at RCPT: a refusal of the message is about the message (552
        # too large, 554 content) -- unless the code says the mailbox, which some MTAs only check late.
        return Cause.MAILBOX if detail in MAILBOX_CODES | FULL_CODES else Cause.MESSAGE
    # RCPT: X.1.x / X.2.x are about addressing and the mailbox; no enhanced code at all is a guess.
    if subject in {"1", "2"} or not detail:
        return Cause.MAILBOX
    return Cause.SYSTEM


def dsn_status_suppresses(status: str) -> bool:
    """Whether a DSN's ``Status:`` (an enhanced code, "5.1.1") is a permanent refusal of the mailbox.

    A DSN that reports a policy refusal (5.7.1 "message rejected as spam") or a relay problem came
    from a later hop judging *us*; it must not put the recipient on the suppression list.
    """
    if not status.startswith("5."):
        return False
    return status.split(".", 1)[1] in MAILBOX_CODES


_ADDRESS_RE = re.compile(r"<[^>]*>|[^\s<>@]+@[^\s<>@]+|\d+")


def refusal_signature(*, code: int | None, text: str) -> str:
    """A refusal's text with the addresses and numbers taken out: the same for every recipient when
    the relay says the same thing to all of them."""
    return f"{code} {_ADDRESS_RE.sub('', text).lower().split()}"


class RepeatWatch:
    """Notices one refusal repeating for many different recipients in a row.

    A relay that refuses *us* with a bare ``550`` (no enhanced code, no telling words) looks, one
    reply at a time, like a bad mailbox. The same words for ``limit`` different recipients with no
    success between them say otherwise: then it is treated as about us (sending pauses). Any
    accepted message, or a different refusal, starts the count again. Not thread-safe by itself:
    the chunk's lanes share one under their lock.
    """

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self.signature = ""
        self.recipients: set[str] = set()

    def success(self) -> None:
        self.signature = ""
        self.recipients = set()

    def refused(self, *, signature: str, recipient: str) -> bool:
        """Record one refusal; True when this signature has now been seen for ``limit`` recipients."""
        if signature != self.signature:
            self.signature, self.recipients = signature, set()
        self.recipients.add(recipient.lower())
        return self.limit > 0 and len(self.recipients) >= self.limit
