"""A token bucket shared by every worker on every host, so the SMTP relay's quota is respected.

A relay's quota (messages per second, per hour), not Python, is the real ceiling of a send: going
over it gets 421/451 replies and, worse, a throttled reputation. Every worker asks the same Redis
for a token before each message; a Lua script refills and takes from both buckets (per second and
per hour) atomically, using Redis' own clock so hosts with skewed clocks still agree.

Without ``REDIS_URL`` (``make demo``, a single process) the bucket lives in the process. When Redis
is unreachable mid-run the worker falls back to an in-process bucket at the same rate and tries
Redis again after a few seconds: a Redis restart slows nobody down and stops no send.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from digest.delivery.shared_redis import SharedRedis

# The longest single sleep while waiting for a token (so a worker notices a pause or shutdown).
MAX_SLEEP_SECONDS = 1.0

_TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tokens = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local capacity = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local have = tonumber(state[1]) or capacity
  local ts = tonumber(state[2]) or now
  have = math.min(capacity, have + math.max(0, now - ts) * rate)
  tokens[i] = have
  if have < 1 then
    local need = (1 - have) / rate
    if need > wait then wait = need end
  end
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    local rate = tonumber(ARGV[2 * i - 1])
    local capacity = tonumber(ARGV[2 * i])
    redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'ts', tostring(now))
    redis.call('EXPIRE', key, math.ceil(capacity / rate) + 60)
  end
end
return tostring(wait)
"""


class RateLimitConfigError(ValueError):
    """``PAPERBOY_RATE_LIMITS`` could not be understood."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Limits for one relay; 0 means no limit of that kind."""

    per_second: float = 0.0
    per_hour: float = 0.0
    burst: float = 0.0

    @property
    def unlimited(self) -> bool:
        return self.per_second <= 0 and self.per_hour <= 0

    def buckets(self) -> list[tuple[str, float, float]]:
        """(name, refill rate per second, capacity) of each bucket in force.

        The hourly bucket holds one minute's worth of tokens: any 60 minutes carry at most
        ``per_hour × 61/60`` messages, and the send is spread over the hour instead of bursting.
        """
        found = []
        if self.per_second > 0:
            found.append(("s", self.per_second, max(1.0, self.burst or self.per_second)))
        if self.per_hour > 0:
            found.append(("h", self.per_hour / 3600.0, max(1.0, self.per_hour / 60.0)))
        return found


def rate_limits_parse(raw: str) -> dict[str, RateLimit]:
    """``"smtp.a.org:587=14/s,50000/h; relay.b:25=5/s"`` → per-relay limits."""
    limits: dict[str, RateLimit] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        relay, sep, spec = part.partition("=")
        if not sep or not relay.strip():
            raise RateLimitConfigError(f"PAPERBOY_RATE_LIMITS entry {part!r} is not relay=N/s,N/h")
        per_second = per_hour = 0.0
        for item in filter(None, (i.strip() for i in spec.split(","))):
            number, slash, unit = item.partition("/")
            try:
                value = float(number)
            except ValueError:
                raise RateLimitConfigError(f"PAPERBOY_RATE_LIMITS: {item!r} is not N/s or N/h") from None
            if not slash or unit not in {"s", "h"} or value < 0:
                raise RateLimitConfigError(f"PAPERBOY_RATE_LIMITS: {item!r} is not N/s or N/h")
            if unit == "s":
                per_second = value
            else:
                per_hour = value
        limits[relay.strip().lower()] = RateLimit(per_second=per_second, per_hour=per_hour)
    return limits


def relay_name() -> str:
    return f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}".lower()


def rate_limit_for_relay(relay: str) -> RateLimit:
    specific = rate_limits_parse(settings.PAPERBOY_RATE_LIMITS).get(relay.lower())
    if specific is not None:
        return RateLimit(per_second=specific.per_second, per_hour=specific.per_hour, burst=settings.PAPERBOY_RATE_BURST)
    return RateLimit(
        per_second=settings.PAPERBOY_RATE_PER_SECOND,
        per_hour=settings.PAPERBOY_RATE_PER_HOUR,
        burst=settings.PAPERBOY_RATE_BURST,
    )


class LocalTokenBucket:
    """The same buckets in this process only (no Redis, or Redis down)."""

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets = limit.buckets()
        self.clock = clock
        self.tokens = [capacity for _, _, capacity in self.buckets]
        self.stamp = clock()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Take one token from every bucket, or return the seconds to wait and take nothing."""
        with self.lock:
            now = self.clock()
            elapsed, self.stamp = max(0.0, now - self.stamp), now
            wait = 0.0
            for i, (_, rate, capacity) in enumerate(self.buckets):
                self.tokens[i] = min(capacity, self.tokens[i] + elapsed * rate)
                if self.tokens[i] < 1:
                    wait = max(wait, (1 - self.tokens[i]) / rate)
            if wait == 0.0:
                self.tokens = [t - 1 for t in self.tokens]
            return wait


class RateLimiter:
    """``acquire()`` blocks until this process may send one message to the relay."""

    def __init__(self, *, relay: str, limit: RateLimit, redis_url: str, sleep: Callable[[float], None] = time.sleep):
        self.relay = relay
        self.limit = limit
        self.sleep = sleep
        self.local = LocalTokenBucket(limit)
        self.redis = SharedRedis(redis_url, user="rate limiter", fallback="using an in-process bucket for now")
        self._script: Any = None

    @property
    def keys(self) -> list[str]:
        return [f"paperboy:ratelimit:{self.relay}:{name}" for name, _, _ in self.limit.buckets()]

    def _args(self) -> list[float]:
        return [value for _, rate, capacity in self.limit.buckets() for value in (rate, capacity)]

    def take(self) -> float:
        wait = self.redis.call(self._take_shared)
        if wait is None:
            self._script = None  # registered again on the next client
            return self.local.take()
        return wait

    def _take_shared(self, client: Any) -> float:
        if self._script is None:
            self._script = client.register_script(_TAKE_SCRIPT)
        return float(self._script(keys=self.keys, args=self._args()))

    def acquire(self, *, on_wait: Callable[[], None] | None = None) -> float:
        """Wait for a token; returns the seconds spent waiting. ``on_wait`` runs once before any sleep."""
        if self.limit.unlimited:
            return 0.0
        waited = 0.0
        while (wait := self.take()) > 0:
            if on_wait is not None and waited == 0.0:
                on_wait()
            pause = min(wait, MAX_SLEEP_SECONDS)
            self.sleep(pause)
            waited += pause
        return waited


def rate_limiter_for_relay(relay: str | None = None) -> RateLimiter:
    relay = relay or relay_name()
    return RateLimiter(relay=relay, limit=rate_limit_for_relay(relay), redis_url=settings.PAPERBOY_RATELIMIT_REDIS_URL)
