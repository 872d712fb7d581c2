"""Fixtures for the delivery fault tests: an SMTP server whose replies are scripted per recipient,
real Celery workers in subprocesses, and subscribers whose slot is due right now."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from allauth.account.models import EmailAddress

from accounts.models import User
from digest.mailsink import free_port
from digest.models import Interest, Subscription
from tests.factories import paper_make

# What the scripted server can do to one attempt at one recipient (consumed in order, then 250):
#   "250"   accept            "421"  reply 421 at RCPT and hang up     "451" / "452" / "552" / "550"  reply that at RCPT
#   "554"   accept RCPT, then refuse the message after DATA             "stall"  never answer RCPT (client times out)
#   "drop"  hang up in the middle of DATA, before the final dot         "hold"   wait at RCPT until the test releases it
REPLIES = {
    "451": "451 4.3.0 Try again later",
    "452": "452 4.2.2 Insufficient system storage",
    "552": "552 5.2.2 Mailbox full",
    "550": "550 5.1.1 No such user",
}


@dataclass
class Accepted:
    rcpt: str
    message_id: str
    mail_from: str
    headers: dict[str, str]


@dataclass
class ScriptedHandler:
    scripts: dict[str, list[str]] = field(default_factory=dict)
    attempts: Counter = field(default_factory=Counter)
    accepted: list[Accepted] = field(default_factory=list)
    stall_seconds: float = 5.0
    # Time spent per accepted message, so that concurrent workers really overlap.
    delay_seconds: float = 0.0
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, rcpt: str, *steps: str) -> None:
        self.scripts[rcpt] = list(steps)

    def _step(self, rcpt: str) -> str:
        with self.lock:
            n = self.attempts[rcpt]
            self.attempts[rcpt] += 1
            steps = self.scripts.get(rcpt, [])
            return steps[n] if n < len(steps) else "250"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        step = self._step(address)
        if step == "421":
            # Reply, then hang up (the write is queued before the close runs).
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down"
        if step in REPLIES:
            return REPLIES[step]
        if step == "stall":
            await asyncio.sleep(self.stall_seconds)
            return "451 4.4.2 Too slow"
        if step == "hold":
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.4.2 Released"
        envelope.rcpt_tos.append(address)
        envelope.step = step
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if getattr(envelope, "step", "250") == "554":
            return "554 5.7.1 Message refused"
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        message = message_from_bytes(bytes(envelope.content), policy=policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.accepted.append(
                    Accepted(
                        rcpt=rcpt,
                        message_id=str(message["Message-ID"]),
                        mail_from=envelope.mail_from,
                        headers={k: str(v) for k, v in message.items()},
                    )
                )
        return "250 2.0.0 Queued"

    def received_by(self) -> Counter:
        with self.lock:
            return Counter(a.rcpt for a in self.accepted)


class ScriptedSMTP(SMTP):
    async def smtp_DATA(self, arg: str) -> None:
        if getattr(self.envelope, "step", "") == "drop":
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readline()  # take the first line of the message, then hang up
            self.transport.close()
            return
        await super().smtp_DATA(arg)


class ScriptedController(Controller):
    def factory(self):
        return ScriptedSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def scripted_smtp(settings):
    handler = ScriptedHandler()
    controller = ScriptedController(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_TIMEOUT = 1
    handler.host, handler.port = controller.hostname, controller.port
    try:
        yield handler
    finally:
        handler.release.set()
        controller.stop()


def worker_env(smtp: ScriptedHandler, **extra: str) -> dict[str, str]:
    """What a worker subprocess needs to talk to the scripted server, with tiny backoffs."""
    return {
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "1",
        "PAPERBOY_SENDING_TIMEOUT": "8",
        "PAPERBOY_RETRY_BASE_SECONDS": "0.1",
        "PAPERBOY_RETRY_MAX_SECONDS": "0.4",
        "PAPERBOY_MAX_ATTEMPTS": "5",
        "PAPERBOY_REQUEUE_AFTER_SECONDS": "0",
        "PAPERBOY_PAUSE_RECHECK_SECONDS": "0.5",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def readers_due(count: int, *, prefix: str = "reader") -> list[Subscription]:
    """``count`` verified subscribers whose slot is due now, and a paper each of them wants."""
    now = datetime.now(UTC)
    paper_make(
        title="Sharper Video Diffusion with Temporal Guidance",
        abstract="We study diffusion models for video generation.",
        ingested_at=now - timedelta(hours=1),
    )
    return [reader_make(email=f"{prefix}{i:03d}@example.org", send_hour=now.hour) for i in range(count)]


def reader_make(*, email: str, send_hour: int) -> Subscription:
    """A verified subscriber interested in diffusion (no password: hashing one costs ~0.5 s)."""
    user = User.objects.create_user(email=email, password=None)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    subscription = Subscription.objects.create(user=user, send_hour=send_hour, timezone="UTC")
    Interest.objects.create(subscription=subscription, query="diffusion", position=0)
    return subscription


def wait_until(
    condition: Callable[[], bool], *, timeout: float = 20.0, what: str = "", worker=None, state=None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    logs = "\n".join(w.output()[-4000:] for w in (worker if isinstance(worker, list) else [worker]) if w)
    now = f" (now: {state()})" if state else ""
    raise AssertionError(f"timed out waiting for {what or condition}{now}\n{logs}")


def dsn(*, to: str, recipient: str, action: str, status: str, diagnostic: str, quoted_header: str = "") -> bytes:
    """A delivery status notification the way Postfix writes one (multipart/report)."""
    return (
        f"Return-Path: <>\r\n"
        f"From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
        f"To: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n'
        f"\r\n"
        f"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not\r\n"
        f"be delivered to one or more recipients.\r\n\r\n"
        f"--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Tue, 10 Mar 2026 09:00:01 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n  (in reply to RCPT TO command)\r\n\r\n"
        f"--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Paperboy <digest@localhost>\r\nTo: {recipient}\r\nSubject: 3 new papers\r\n{quoted_header}"
        f"\r\n--BOUNDARY--\r\n"
    ).encode()
