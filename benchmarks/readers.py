"""Readers for the benchmarks that plan and send: verified users, each with a subscription due in this
hour and one to three interests drawn from the benchmark's list (shared by benchmarks.delivery and
benchmarks.trending, so the two compare planning costs on the same kind of subscriber)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime

# What the benchmarks' readers type (each takes one to three).
INTERESTS = (
    "diffusion",
    '"language model" OR LLM',
    "reasoning",
    "robot*",
    "reinforcement learning",
    "benchmark",
    "agent",
    "video",
    "graph",
    "retrieval",
    "transformer",
    "segmentation",
)


def readers_seed(*, subscribers: int, now: datetime, interests: Sequence[str], rng: random.Random) -> list:
    """``subscribers`` verified readers due at ``now``'s hour (UTC); returns their subscriptions."""
    from allauth.account.models import EmailAddress

    from accounts.models import User
    from digest.models import Interest, Subscription

    users = User.objects.bulk_create(
        [User(email=f"reader{n:06d}@example.org", password="!") for n in range(subscribers)], batch_size=2000
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users], batch_size=2000
    )
    subs = Subscription.objects.bulk_create(
        [Subscription(user=u, send_hour=now.hour, timezone="UTC", max_papers=10) for u in users], batch_size=2000
    )
    Interest.objects.bulk_create(
        [
            Interest(subscription=s, query=q, position=i)
            for s in subs
            for i, q in enumerate(rng.sample(list(interests), rng.randint(1, 3)))
        ],
        batch_size=5000,
    )
    return subs
