"""A local SMTP server (aiosmtpd) that keeps every message it receives.

Used by ``manage.py mailsink`` (stores into a Maildir for ``make demo``) and by the tests
(keeps messages in memory). It is a development and test tool, never a relay.
"""

from __future__ import annotations

import mailbox
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    mail_options: list[str] = field(default_factory=list)  # e.g. BODY=8BITMIME

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class MemoryHandler:
    """Keeps every accepted message in memory, thread-safely."""

    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # aiosmtpd calls this name
        with self._lock:
            self.received.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), list(envelope.mail_options)
                )
            )
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received]


class MaildirHandler:
    """Stores every accepted message as a file in a Maildir (``new/``), readable by any mail client."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(str(self.path), create=True)
        self.count = 0

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:  # aiosmtpd calls this name
        # Someone may have emptied the folder while the sink runs; recreate it rather than lose mail.
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self.maildir.add(mailbox.MaildirMessage(bytes(envelope.content)))
        self.count += 1
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def sink_start(*, handler, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """Start an SMTP server in a background thread; ``port=0`` picks a free one."""
    controller = Controller(handler, hostname=host, port=port or free_port(host), ready_timeout=10)
    controller.start()
    return controller
