"""Reads for the feedback features: a subscriber's feed, their training examples, near-miss papers."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.urls import reverse

from accounts.tokens import InvalidToken, token_make, token_read
from digest.feedback.atom import AtomEntry, AtomFeed
from digest.links import absolute_url
from digest.models import Delivery, Paper, Subscription
from digest.selectors.subscriptions import subscription_address

FEED_DIGESTS = 30  # the feed covers the last 30 digests sent ...
FEED_ENTRIES_MAX = 200  # ... and at most this many papers
SUMMARY_MAX_CHARS = 700


def feed_url_make(*, subscription_id: int, secret: str, address: str | None = None) -> str:
    """The private feed URL: the signature binds the secret to the subscriber (and their address), the
    secret allows revoking."""
    address = address if address is not None else subscription_address(subscription_id) or ""
    token = token_make(purpose="feed", subscription_id=subscription_id, address=address, data={"t": secret})
    return absolute_url(reverse("feedback:feed", kwargs={"token": token}))


def feed_subscription_from_token(*, token: str) -> Subscription | None:
    """The subscription a feed token opens, or None (tampered, revoked by regenerating, or unknown)."""
    try:
        subscription_id, data = token_read(purpose="feed", token=token, address_of=subscription_address)
    except InvalidToken:
        return None
    secret = data.get("t")
    subscription = Subscription.objects.select_related("user").filter(id=subscription_id).first()
    if subscription is None or not subscription.feed_token or not isinstance(secret, str):
        return None
    if not hmac.compare_digest(secret.encode(), subscription.feed_token.encode()):
        return None
    return subscription


def _summary(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX_CHARS else text[: SUMMARY_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"


def feed_for_subscription(*, subscription: Subscription, self_url: str) -> AtomFeed:
    """One entry per paper of the subscriber's last digests that went out, newest digest first."""
    deliveries = list(
        Delivery.objects.filter(subscription=subscription, kind=Delivery.Kind.DIGEST, state=Delivery.State.SENT)
        .order_by("-sent_at", "-id")
        .only("id", "slot", "sent_at", "content")[:FEED_DIGESTS]
    )
    paper_ids = {entry["paper"] for d in deliveries for entry in d.content}
    papers = {
        p.id: p
        for p in Paper.objects.filter(id__in=paper_ids, hidden=False).only(
            "id", "title", "abstract", "url", "authors", "categories"
        )
    }
    entries: list[AtomEntry] = []
    for delivery in deliveries:
        for item in delivery.content:
            paper = papers.get(item["paper"])
            if paper is None or len(entries) >= FEED_ENTRIES_MAX:
                continue
            interests = tuple(dict.fromkeys(r["interest"] for r in item.get("reasons", ())))
            label = "You might also like" if item.get("suggested") else "; ".join(interests)
            entries.append(
                AtomEntry(
                    id=f"tag:{settings.SITE_DOMAIN},{delivery.slot.isoformat()}:digest/{delivery.id}/paper/{paper.id}",
                    title=paper.title,
                    link=paper.url
                    or absolute_url(reverse("digest:archive_digest", kwargs={"delivery_id": delivery.id})),
                    updated=delivery.sent_at or subscription.created_at,
                    summary=(f"[{label}] " if label else "") + _summary(paper.abstract),
                    authors=tuple(paper.authors or ())[:20],
                    categories=tuple(paper.categories or ()),
                )
            )
    updated = max((e.updated for e in entries), default=subscription.created_at)
    return AtomFeed(
        id=f"tag:{settings.SITE_DOMAIN},{subscription.created_at.date().isoformat()}:feed/{subscription.id}",
        title="Your Paperboy digest",
        subtitle="The papers matching your interests, as emailed to you.",
        self_url=self_url,
        site_url=absolute_url(reverse("digest:archive")),
        updated=updated,
        author="Paperboy",
        entries=entries,
    )
