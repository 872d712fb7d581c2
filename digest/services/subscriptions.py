"""Everything a subscriber changes about their own subscription, and deleting an account.

Every write validates again what the form validated, so nothing unparseable is ever stored even when a
caller skips the form (an admin action, a script, a future API).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import available_timezones

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone as dj_timezone

from digest.delivery.schedule import next_due_now
from digest.delivery.state import deliveries_cancel_pending
from digest.dispatch import chunks_enqueue
from digest.library.selectors import subscription_ids_with_library
from digest.matching import parse_query, validate_muted
from digest.models import Delivery, Interest, Subscription

# Limits a subscriber meets in the editor; the model allows more, the product does not need it.
QUERY_MAX_CHARS = 300
INTERESTS_MAX = 20
MUTED_MAX = 50
MAX_PAPERS_RANGE = (1, 50)
TEST_DIGEST_INTERVAL_SECONDS = 600


class SubscriptionError(Exception):
    """A change the subscriber asked for cannot be made; ``str(err)`` says why, in their words."""


class TestDigestRateLimited(SubscriptionError):
    def __init__(self, retry_in_seconds: int) -> None:
        self.retry_in_seconds = retry_in_seconds
        minutes = max(1, -(-retry_in_seconds // 60))
        super().__init__(
            f"You can send yourself one test digest every 10 minutes. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class DeliverySettings:
    muted_words: tuple[str, ...]
    max_papers: int
    frequency: str
    weekday: int
    send_hour: int
    timezone: str
    # A short note on days nothing matched, naming the nearest misses.
    quiet_day_note: bool = False


def subscription_create_for_user(*, user) -> Subscription:
    """The user's subscription, created with the defaults on first use (idempotent)."""
    subscription, _ = Subscription.objects.get_or_create(
        user=user, defaults={"max_papers": settings.PAPERBOY_MAX_PAPERS_DEFAULT}
    )
    return subscription


def query_clean(*, query: str) -> str:
    """The query as stored: trimmed, length-checked and parseable (raises QueryError/SubscriptionError)."""
    text = " ".join(query.split())
    if not text:
        raise SubscriptionError("Write a query, for example: diffusion video")
    if len(text) > QUERY_MAX_CHARS:
        raise SubscriptionError(f"A query can be at most {QUERY_MAX_CHARS} characters (this one has {len(text)}).")
    parse_query(text)
    return text


def _duplicate_check(*, subscription: Subscription, query: str, exclude_id: int | None = None) -> None:
    others = subscription.interests.exclude(id=exclude_id) if exclude_id else subscription.interests.all()
    if any(existing.casefold() == query.casefold() for existing in others.values_list("query", flat=True)):
        raise SubscriptionError("You already follow this query.")


@transaction.atomic
def interest_add(*, subscription: Subscription, query: str) -> Interest:
    text = query_clean(query=query)
    # Lock the subscription so two quick submits can't both pass the limit or duplicate check.
    Subscription.objects.select_for_update().filter(id=subscription.id).first()
    if subscription.interests.count() >= INTERESTS_MAX:
        raise SubscriptionError(f"You can follow at most {INTERESTS_MAX} interests; remove one first.")
    _duplicate_check(subscription=subscription, query=text)
    last = subscription.interests.aggregate(last=Max("position"))["last"]
    return Interest.objects.create(subscription=subscription, query=text, position=0 if last is None else last + 1)


@transaction.atomic
def interest_update(*, interest: Interest, query: str) -> Interest:
    text = query_clean(query=query)
    _duplicate_check(subscription=interest.subscription, query=text, exclude_id=interest.id)
    interest.query = text
    interest.save(update_fields=["query"])
    return interest


def interest_remove(*, interest: Interest) -> None:
    interest.delete()


def muted_words_clean(*, words: Sequence[str]) -> tuple[str, ...]:
    """Each word as the engine stores it, de-duplicated case-insensitively (first spelling kept).

    Raises QueryError (with the engine's message) for an unusable word."""
    seen: set[str] = set()
    cleaned: list[str] = []
    for raw in words:
        if not raw.strip():
            continue
        word = validate_muted(raw)
        if word.casefold() in seen:
            continue
        seen.add(word.casefold())
        cleaned.append(word)
    if len(cleaned) > MUTED_MAX:
        raise SubscriptionError(f"You can mute at most {MUTED_MAX} words.")
    return tuple(cleaned)


def timezone_clean(*, name: str) -> str:
    if name not in available_timezones():
        raise SubscriptionError(f"{name!r} is not a time zone we know; pick one from the list.")
    return name


def subscription_update_settings(*, subscription: Subscription, new: DeliverySettings) -> Subscription:
    low, high = MAX_PAPERS_RANGE
    if not low <= new.max_papers <= high:
        raise SubscriptionError(f"Papers per email must be between {low} and {high}.")
    if new.frequency not in Subscription.Frequency.values:
        raise SubscriptionError("Choose daily or weekly.")
    if not 0 <= new.weekday <= 6 or not 0 <= new.send_hour <= 23:
        raise SubscriptionError("Choose a weekday and an hour from the lists.")
    subscription.muted_words = list(muted_words_clean(words=new.muted_words))
    subscription.max_papers = new.max_papers
    subscription.frequency = new.frequency
    subscription.weekday = new.weekday
    subscription.send_hour = new.send_hour
    subscription.timezone = timezone_clean(name=new.timezone)
    subscription.quiet_day_note = new.quiet_day_note
    subscription.next_due_at = subscription_next_due(subscription=subscription)
    subscription.save(
        update_fields=[
            "muted_words",
            "max_papers",
            "frequency",
            "weekday",
            "send_hour",
            "timezone",
            "quiet_day_note",
            "next_due_at",
            "updated_at",
        ]
    )
    return subscription


def subscription_next_due(*, subscription: Subscription) -> datetime:
    """When this subscription is next due under its (new) hour, zone and frequency: today's local slot,
    possibly open already (then planned at the next beat, unless it was planned before the change)."""
    return next_due_now(
        now=dj_timezone.now(),
        tz_name=subscription.timezone,
        send_hour=subscription.send_hour,
        frequency=subscription.frequency,
        weekday=subscription.weekday,
    )


def subscription_timezone_set(*, subscription: Subscription, name: str) -> Subscription:
    """Onboarding: remember the browser's time zone (silently ignored when unknown)."""
    try:
        subscription.timezone = timezone_clean(name=name)
    except SubscriptionError:
        return subscription
    subscription.next_due_at = subscription_next_due(subscription=subscription)
    subscription.save(update_fields=["timezone", "next_due_at", "updated_at"])
    return subscription


def _pending_deliveries_cancel(*, subscription_id: int) -> int:
    return deliveries_cancel_pending(subscription_id=subscription_id, reason="cancelled by the subscriber")


def subscription_pause(*, subscription: Subscription) -> Subscription:
    subscription.paused = True
    subscription.save(update_fields=["paused", "updated_at"])
    return subscription


def subscription_resume(*, subscription: Subscription) -> Subscription:
    subscription.paused = False
    subscription.next_due_at = subscription_next_due(subscription=subscription)
    subscription.save(update_fields=["paused", "next_due_at", "updated_at"])
    return subscription


@transaction.atomic
def subscription_unsubscribe(*, subscription_id: int) -> Subscription:
    """Stop every email to this subscriber now; idempotent (the first unsubscribe time is kept).

    Raises Subscription.DoesNotExist when the subscription is gone (account deleted)."""
    subscription = Subscription.objects.select_for_update().get(id=subscription_id)
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = dj_timezone.now()
        subscription.save(update_fields=["unsubscribed_at", "updated_at"])
    _pending_deliveries_cancel(subscription_id=subscription.id)
    return subscription


def subscription_resubscribe(*, subscription: Subscription) -> Subscription:
    subscription.unsubscribed_at = None
    subscription.paused = False
    subscription.next_due_at = subscription_next_due(subscription=subscription)
    subscription.save(update_fields=["unsubscribed_at", "paused", "next_due_at", "updated_at"])
    return subscription


def _test_digest_key(subscription_id: int) -> str:
    return f"paperboy:test-digest:{subscription_id}"


def subscription_send_test(*, subscription: Subscription) -> Delivery:
    """Queue a real digest for the subscriber now, at most once per 10 minutes (shared across processes)."""
    if subscription.unsubscribed_at is not None:
        raise SubscriptionError("You are unsubscribed; subscribe again first.")
    if (
        not subscription.interests.exists()
        and subscription.digest != Subscription.Digest.TRENDING
        and not subscription_ids_with_library(subscription_ids=[subscription.id])
    ):
        raise SubscriptionError(
            "Add an interest first (or a paper to your library), so the digest has something to match."
        )
    key = _test_digest_key(subscription.id)
    now = time.time()
    # cache.add is atomic on Redis: of two simultaneous clicks exactly one gets through.
    if not cache.add(key, now, timeout=TEST_DIGEST_INTERVAL_SECONDS):
        sent_at = cache.get(key) or now
        raise TestDigestRateLimited(int(max(1, TEST_DIGEST_INTERVAL_SECONDS - (now - sent_at))))
    try:
        # Imported here, not at the top: the planner loads the learned ranker (scikit-learn, about a second),
        # which a web process otherwise never needs; this keeps it off every page's first request.
        from digest.delivery.sample import delivery_send_test

        delivery = delivery_send_test(subscription_id=subscription.id, on_chunks=chunks_enqueue)
    except Exception:
        cache.delete(key)  # nothing was queued, so the subscriber may try again at once
        raise
    if delivery.state == Delivery.State.SKIPPED:
        cache.delete(key)  # nothing matched, nothing sent: no reason to make them wait
    return delivery


@transaction.atomic
def account_delete(*, user) -> None:
    """Delete the user and everything that is theirs; pending deliveries are cancelled first so a worker
    holding their ids finds nothing to send."""
    subscription = Subscription.objects.filter(user=user).first()
    if subscription is not None:
        _pending_deliveries_cancel(subscription_id=subscription.id)
        cache.delete(_test_digest_key(subscription.id))
    # Cascades to the subscription, interests, deliveries, sent-paper records, email addresses and
    # social accounts; feeds the user suggested stay (suggested_by is SET_NULL).
    user.delete()
