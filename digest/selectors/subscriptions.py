"""Reads about one subscriber: their subscription, interests and past digests."""

from __future__ import annotations

from django.db.models import QuerySet

from digest.models import Delivery, Interest, SentPaper, Subscription

# What the archive lists: digests that actually reached the subscriber's mail server.
ARCHIVED_STATES = (Delivery.State.SENT,)


def subscription_for_user(*, user) -> Subscription | None:
    return Subscription.objects.filter(user=user).first()


def interests_of(*, subscription: Subscription) -> list[Interest]:
    return list(subscription.interests.order_by("position", "id"))


def interest_of_subscription(*, subscription: Subscription, interest_id: int) -> Interest:
    """Raises Interest.DoesNotExist for someone else's interest, so callers answer 404 either way."""
    return Interest.objects.select_related("subscription").get(id=interest_id, subscription=subscription)


def deliveries_archived(*, subscription_id: int) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(subscription_id=subscription_id, state__in=ARCHIVED_STATES)
        .order_by("-sent_at", "-id")
        .only("id", "slot", "kind", "subject", "paper_count", "sent_at", "state", "subscription_id")
    )


def delivery_archived(*, subscription_id: int, delivery_id: int) -> Delivery:
    """One archived digest of this subscriber; raises Delivery.DoesNotExist for anyone else's."""
    return Delivery.objects.select_related("subscription__user").get(
        id=delivery_id, subscription_id=subscription_id, state__in=ARCHIVED_STATES
    )


def paper_ids_sent_to(*, subscription_id: int) -> frozenset[int]:
    return frozenset(SentPaper.objects.filter(subscription_id=subscription_id).values_list("paper_id", flat=True))


def delivery_latest_digest(*, subscription: Subscription) -> Delivery | None:
    """The subscriber's most recent digest (any state): what "resend the latest digest" sends again."""
    return subscription.deliveries.filter(kind=Delivery.Kind.DIGEST).order_by("-slot", "-id").first()


def deliveries_recent(*, subscription_id: int, limit: int = 30) -> list[Delivery]:
    """The subscriber's latest deliveries of any kind and state (the admin's delivery history)."""
    return list(Delivery.objects.filter(subscription_id=subscription_id).order_by("-slot", "-id")[:limit])


def subscription_address(subscription_id: int) -> str | None:
    """The address a subscription's emailed links are bound to (its user's email), or None.

    Positional, to serve as ``address_of`` for ``accounts.tokens``."""
    return Subscription.objects.filter(id=subscription_id).values_list("user__email", flat=True).first()
