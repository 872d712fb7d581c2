"""The signed links every digest email carries (unsubscribe, view in browser, preferences)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from accounts.tokens import token_make
from digest.emails import DigestLinks


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(*, subscription_id: int) -> str:
    token = token_make(purpose="unsubscribe", subscription_id=subscription_id)
    return absolute_url(reverse("digest:unsubscribe", kwargs={"token": token}))


def digest_view_url(*, subscription_id: int, delivery_id: int) -> str:
    token = token_make(purpose="archive", subscription_id=subscription_id, data={"d": delivery_id})
    return absolute_url(reverse("digest:digest_view", kwargs={"token": token}))


def digest_links_make(*, subscription_id: int, delivery_id: int) -> DigestLinks:
    return DigestLinks(
        unsubscribe_url=unsubscribe_url(subscription_id=subscription_id),
        manage_url=absolute_url(reverse("digest:preferences")),
        view_url=digest_view_url(subscription_id=subscription_id, delivery_id=delivery_id),
    )
