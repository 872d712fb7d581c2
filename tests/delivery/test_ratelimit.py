"""The shared rate limit: one bucket for every worker, a local one when Redis is away."""

from __future__ import annotations

import pytest

from digest.delivery.ratelimit import RateLimit, RateLimitConfigError, RateLimiter, rate_limits_parse
from digest.mailsink import free_port

pytestmark = pytest.mark.django_db


def test_a_rate_limit_is_one_bucket_shared_by_every_worker(redis_url):
    limit = RateLimit(per_second=3, burst=3)
    relay = f"test-relay-{free_port()}"
    first = RateLimiter(relay=relay, limit=limit, redis_url=redis_url)
    second = RateLimiter(relay=relay, limit=limit, redis_url=redis_url)

    assert [first.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert second.take() > 0  # the other worker finds the bucket empty
    assert RateLimiter(relay=relay + "-other", limit=limit, redis_url=redis_url).take() == 0.0


def test_the_hourly_limit_spreads_the_hour_and_waits_are_slept_in_short_steps():
    slept: list[float] = []
    limiter = RateLimiter(relay="local", limit=RateLimit(per_hour=120), redis_url="", sleep=slept.append)
    for _ in range(2):  # one minute's worth (120 / 60) goes at once
        assert limiter.acquire() == 0.0
    assert limiter.take() == pytest.approx(30.0, rel=0.01)  # then one every 30 s
    limiter.local.clock = iter([limiter.local.stamp + 31.0 * i for i in range(1, 100)]).__next__
    limiter.acquire()
    assert slept == []  # the fake clock moved on: no wait needed


def test_an_unreachable_redis_falls_back_to_a_bucket_in_the_process():
    limiter = RateLimiter(
        relay="r", limit=RateLimit(per_second=2, burst=2), redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    assert [limiter.take() for _ in range(2)] == [0.0, 0.0]
    assert limiter.take() > 0


def test_per_relay_limits_are_read_from_one_setting_and_nonsense_is_refused():
    limits = rate_limits_parse("smtp.a.org:587=14/s,50000/h; Relay.B:25=5/s")
    assert limits == {
        "smtp.a.org:587": RateLimit(per_second=14, per_hour=50000),
        "relay.b:25": RateLimit(per_second=5),
    }
    with pytest.raises(RateLimitConfigError):
        rate_limits_parse("smtp.a.org:587=fast")
