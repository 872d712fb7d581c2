"""The circuit breaker: consecutive failures pause sending and tell the admins."""

from __future__ import annotations

import pytest

from digest.delivery.plan import deliveries_plan
from digest.delivery.send import deliveries_send
from digest.mailsink import free_port
from digest.models import Delivery, SendingControl
from tests.delivery.conftest import readers_due

pytestmark = pytest.mark.django_db


def test_consecutive_failures_trip_the_circuit_breaker_which_pauses_sending_and_tells_the_admins(settings, monkeypatch):
    told: list[str] = []
    monkeypatch.setattr("digest.delivery.circuit.admins_tell", lambda *, subject, body: told.append(body))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    settings.PAPERBOY_BREAKER_THRESHOLD = 3
    settings.PAPERBOY_RATELIMIT_REDIS_URL = ""  # count in this process
    readers_due(5)
    (chunk,) = deliveries_plan().chunks

    result = deliveries_send(delivery_ids=chunk)

    control = SendingControl.get()
    assert result.paused and len(result.retry) == 3
    assert control.paused and control.reason.startswith("Circuit breaker: 3 consecutive failed messages")
    assert "cannot reach the SMTP server" in control.reason and len(told) == 1
    states = sorted(Delivery.objects.values_list("state", flat=True))
    assert states == ["pending"] * 5  # three to retry, two never tried
    assert deliveries_send(delivery_ids=chunk).paused  # the next chunk waits on the switch
