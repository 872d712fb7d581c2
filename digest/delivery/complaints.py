"""Complaint reports (ARF, RFC 5965) as plain data; no ORM here.

When a reader presses "Report spam", mailbox providers with a feedback loop (Yahoo, Microsoft
JMRP, many ISPs; Gmail only aggregates, by Feedback-ID) send the sender a ``multipart/report;
report-type=feedback-report`` message: a human part, a ``message/feedback-report`` part with
``Feedback-Type: abuse``, and the original message or its headers. The delivery is found the same way
as for a bounce -- the signed token in the original's ``X-Paperboy-Delivery`` header or its VERP
``Return-Path`` -- never from an address written in the report, so a forged report cannot get
somebody else's address suppressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

# Feedback types that mean "this reader does not want this mail" (RFC 5965 §7.3, RFC 6650 §3). The
# others (auth-failure, virus, not-spam, fraud about a forgery) are not the reader's complaint about us.
COMPLAINT_TYPES = frozenset({"abuse", "other"})
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    feedback_type: str  # "abuse", "fraud", "not-spam", ...
    user_agent: str = ""
    original_rcpt_to: str = ""
    arrival_date: str = ""

    @property
    def is_complaint(self) -> bool:
        return self.feedback_type in COMPLAINT_TYPES

    @property
    def summary(self) -> str:
        by = f", from {self.user_agent}" if self.user_agent else ""
        return f"feedback-type: {self.feedback_type}{by}"[:1000]


def feedback_report_part(message: Message) -> Message | None:
    """The ``message/feedback-report`` part of an ARF message, or None for anything else."""
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            return part
    return None


def feedback_report_read(part: Message) -> FeedbackReport:
    """The fields of a ``message/feedback-report`` part (RFC 5965 §3.1), whatever the parser made of it."""
    fields = _fields(_part_text(part))
    return FeedbackReport(
        feedback_type=fields.get("feedback-type", "").strip().lower() or "abuse",
        user_agent=fields.get("user-agent", "")[:200],
        original_rcpt_to=fields.get("original-rcpt-to", "")[:320],
        arrival_date=fields.get("arrival-date", "")[:100],
    )


def _part_text(part: Message) -> str:
    """compat32 parses ``message/feedback-report`` as a sub-message (its fields become headers)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(f"{k}: {v}" for sub in payload if isinstance(sub, Message) for k, v in sub.items())
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(payload or "")


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[:1] in {" ", "\t"} and last:
            fields[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            fields.setdefault(last, value.strip())  # the first of a repeated field
    return fields
