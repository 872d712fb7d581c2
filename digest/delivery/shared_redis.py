"""Redis shared by every worker, with a local fallback: one client per URL, short timeouts, and a
few seconds' rest after a failure so a Redis restart slows nobody down and stops no send.

The rate limiter and the circuit breaker count across workers through this; when Redis is not
configured or unreachable, ``call`` returns None and they count in this process instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# How long the in-process fallback is used before Redis is tried again.
REDIS_RETRY_SECONDS = 5.0

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def redis_client(url: str) -> Any:
    """One client (and connection pool) per URL per process; short timeouts so Redis trouble never hangs a send."""
    import redis

    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
            _clients[url] = client
        return client


class SharedRedis:
    """``call(fn)`` runs ``fn(client)`` on the shared Redis, or returns None when there is none to use."""

    def __init__(self, url: str, *, user: str, fallback: str) -> None:
        self.url = url
        self.user = user  # who is asking, for the log line
        self.fallback = fallback  # what they do meanwhile, for the log line
        self.down_until = 0.0

    def call(self, fn: Callable[[Any], T]) -> T | None:
        if not self.url or time.monotonic() < self.down_until:
            return None
        try:
            return fn(redis_client(self.url))
        except Exception as exc:
            logger.warning("%s: Redis unavailable (%s); %s", self.user, exc, self.fallback)
            self.down_until = time.monotonic() + REDIS_RETRY_SECONDS
            return None
