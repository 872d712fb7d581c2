"""The circuit breaker and the pause switch every sending worker obeys.

After ``PAPERBOY_BREAKER_THRESHOLD`` consecutive failed messages (counted across all workers in
Redis, or per process without it) sending is paused through the same ``SendingControl`` row the
admin's pause button uses, with the reason on it, and the admins are told. A relay that is down or
rejects everything then costs M messages' worth of retries, not the whole list. Resuming is the
admin's decision: the chunks waiting on the pause go on by themselves.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.utils import timezone

from digest.delivery.ratelimit import relay_name
from digest.delivery.shared_redis import SharedRedis
from digest.models import SendingControl

logger = logging.getLogger(__name__)

# How often a busy worker re-reads the pause switch (seconds).
PAUSE_CHECK_INTERVAL = 1.0


class CircuitBreaker:
    """Counts consecutive failures; ``failure()`` returns True exactly once, when the count reaches M."""

    def __init__(self, *, threshold: int, redis_url: str, relay: str) -> None:
        self.threshold = threshold
        self.redis = SharedRedis(redis_url, user="circuit breaker", fallback="counting in this process")
        self.key = f"paperboy:breaker:{relay}"
        self.local_count = 0
        self.lock = threading.Lock()
        self.dirty = True  # the shared count may be non-zero: reset it on the next success

    def success(self) -> None:
        with self.lock:
            self.local_count = 0
        if self.dirty and self.redis.call(lambda r: r.set(self.key, 0, ex=3600)) is not None:
            self.dirty = False

    def failure(self) -> bool:
        if self.threshold <= 0:
            return False
        self.dirty = True
        shared = self.redis.call(lambda r: r.pipeline().incr(self.key).expire(self.key, 3600).execute()[0])
        with self.lock:
            self.local_count += 1
            count = int(shared) if shared is not None else self.local_count
        return count == self.threshold


def circuit_breaker() -> CircuitBreaker:
    return CircuitBreaker(
        threshold=settings.PAPERBOY_BREAKER_THRESHOLD,
        redis_url=settings.PAPERBOY_RATELIMIT_REDIS_URL,
        relay=relay_name(),
    )


def sending_is_paused() -> bool:
    return SendingControl.objects.filter(pk=1, paused=True).exists()


class PauseWatch:
    """Re-reads the pause switch at most once per interval, so a busy chunk notices a pause quickly."""

    def __init__(self, *, interval: float = PAUSE_CHECK_INTERVAL) -> None:
        self.interval = interval
        self.checked_at = time.monotonic()

    def paused(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at < self.interval:
            return False
        self.checked_at = now
        return sending_is_paused()


def sending_pause_by_breaker(*, failures: int, last_error: str) -> SendingControl:
    """Trip the breaker: pause sending with a visible reason and tell the admins."""
    reason = f"Circuit breaker: {failures} consecutive failed messages; last error: {last_error}"
    reason = " ".join(reason.split())[:500]
    control = SendingControl.get()
    control.paused = True
    control.reason = reason
    control.changed_at = timezone.now()
    control.save(update_fields=["paused", "reason", "changed_at"])
    logger.error("sending paused: %s", reason)
    admins_tell(
        subject="Paperboy paused sending", body=f"{reason}\n\nResume it from the admin once the cause is fixed."
    )
    return control


def admins_tell(*, subject: str, body: str) -> None:
    """Email the admins (ADMINS, or PAPERBOY_CONTACT_EMAIL). The relay may be the thing that is broken,
    so this never raises: the log line and the reason on SendingControl are the record."""
    try:
        if settings.ADMINS:
            mail_admins(subject, body, fail_silently=True)
        else:
            send_mail(
                f"[Paperboy] {subject}",
                body,
                settings.SERVER_EMAIL,
                [settings.PAPERBOY_CONTACT_EMAIL],
                fail_silently=True,
            )
    except Exception:
        logger.exception("could not email the admins")
