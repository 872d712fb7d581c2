"""Per-user throttles for expensive pages: a rate (requests per window) and a concurrency of one.

The live preview runs the matching engine on every keystroke; one account looping previews in
parallel slowed every other page down (security review M8). Counters live in the cache, which is
Redis in production, so the limits hold across web processes; ``cache.add`` and ``cache.incr`` are
atomic there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Throttled:
    """Why a request was turned away, and after how many seconds to try again."""

    message: str
    retry_after: int


@contextmanager
def throttle_hold(
    *, scope: str, key: str, rate: int, window_seconds: int, hold_seconds: int = 30
) -> Iterator[Throttled | None]:
    """Yields None when the request may run (holding the user's one slot until it ends), or ``Throttled``.

    ``hold_seconds`` bounds how long a crashed request can keep the slot.
    """
    counter = f"paperboy:throttle:{scope}:rate:{key}"
    slot = f"paperboy:throttle:{scope}:busy:{key}"
    cache.add(counter, 0, timeout=window_seconds)
    try:
        used = cache.incr(counter)
    except ValueError:  # expired between add and incr: a new window starts
        cache.add(counter, 1, timeout=window_seconds)
        used = 1
    if used > rate:
        yield Throttled(f"That is more than {rate} previews in {window_seconds} seconds; wait a moment.", 2)
        return
    if not cache.add(slot, 1, timeout=hold_seconds):
        yield Throttled("Still working on your previous preview.", 1)
        return
    try:
        yield None
    finally:
        cache.delete(slot)
