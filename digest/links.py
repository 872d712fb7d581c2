"""The signed links every digest email carries (unsubscribe, view in browser, preferences)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.urls import reverse

from accounts.tokens import token_make
from digest.email import DigestLinks


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


@functools.lru_cache(maxsize=32)
def _around_token(name: str, site_url: str) -> tuple[str, str]:
    head, _, tail = absolute_url(reverse(name, kwargs={"token": "TOKEN"})).partition("TOKEN")
    return head, tail


def token_url_parts(name: str) -> tuple[str, str]:
    """The absolute URL of view ``name`` split around its token (for callers slotting in many tokens)."""
    return _around_token(name, settings.SITE_URL)


def token_url(name: str, token: str) -> str:
    """The absolute URL of view ``name`` for ``token``. Emails build several per message, so the
    URL is resolved once per view (keyed by the site URL, which tests change) and the token slotted in."""
    head, tail = _around_token(name, settings.SITE_URL)
    return f"{head}{token}{tail}"


@functools.lru_cache(maxsize=32)
def _view_url(name: str, site_url: str) -> str:
    return absolute_url(reverse(name))


def unsubscribe_url(*, subscription_id: int) -> str:
    return token_url("digest:unsubscribe", token_make(purpose="unsubscribe", subscription_id=subscription_id))


def digest_view_url(*, subscription_id: int, delivery_id: int) -> str:
    token = token_make(purpose="archive", subscription_id=subscription_id, data={"d": delivery_id})
    return token_url("digest:digest_view", token)


def digest_links_make(*, subscription_id: int, delivery_id: int) -> DigestLinks:
    return DigestLinks(
        unsubscribe_url=unsubscribe_url(subscription_id=subscription_id),
        manage_url=_view_url("digest:preferences", settings.SITE_URL),  # reverse() costs ~20 µs
        view_url=digest_view_url(subscription_id=subscription_id, delivery_id=delivery_id),
    )
