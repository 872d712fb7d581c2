"""Recording reader feedback, and the private feed's secret.

Every function here is safe to call twice with the same input: a link opened twice, or a form
posted twice, records once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from digest.authors import author_query
from digest.feedback.links import FeedbackAction
from digest.feedback.selectors import feed_url_make
from digest.matching import QueryError
from digest.models import Delivery, Feedback, Paper, Subscription
from digest.services.subscriptions import SubscriptionError, interest_add, muted_words_clean

_OPPOSITE = {Feedback.Kind.LIKE: Feedback.Kind.DISLIKE, Feedback.Kind.DISLIKE: Feedback.Kind.LIKE}


class FeedbackError(Exception):
    """The action can't be recorded (the reader sees the message; nothing was changed)."""


class FeedbackLinkInvalid(FeedbackError):
    """The link names a subscriber, paper or digest that does not exist or does not belong together."""


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    kind: str
    word: str
    created: bool  # False when the same feedback was already recorded


def feedback_target_check(*, action: FeedbackAction) -> tuple[Subscription, Paper]:
    """The subscription and paper a verified token names, checked to exist and belong together."""
    subscription = Subscription.objects.select_related("user").filter(id=action.subscription_id).first()
    paper = Paper.objects.filter(id=action.paper_id).first()
    if subscription is None or paper is None:
        raise FeedbackLinkInvalid("This link is not valid.")
    if (
        action.delivery_id is not None
        and not Delivery.objects.filter(id=action.delivery_id, subscription_id=subscription.id).exists()
    ):
        raise FeedbackLinkInvalid("This link is not valid.")
    return subscription, paper


@transaction.atomic
def feedback_record(*, action: FeedbackAction) -> FeedbackOutcome:
    """Record one action from a card. Like and dislike of one paper replace each other."""
    subscription, paper = feedback_target_check(action=action)
    # Lock the subscription: two quick clicks must not both append to muted_words or the interests.
    Subscription.objects.select_for_update().filter(id=subscription.id).first()
    subscription.refresh_from_db(fields=["muted_words"])
    word = ""
    if action.action == Feedback.Kind.MUTE:
        word = _mute_word(subscription=subscription, word=action.word)
    elif action.action == Feedback.Kind.FOLLOW:
        word = _follow_author(subscription=subscription, name=action.word)
    elif action.action in _OPPOSITE:
        Feedback.objects.filter(subscription=subscription, paper=paper, kind=_OPPOSITE[action.action]).delete()
    try:
        with transaction.atomic():
            _, created = Feedback.objects.get_or_create(
                subscription=subscription,
                paper=paper,
                kind=action.action,
                word=word,
                defaults={"delivery_id": action.delivery_id},
            )
    except IntegrityError:  # the same click, recorded by a concurrent request a moment ago
        created = False
    return FeedbackOutcome(kind=action.action, word=word, created=created)


def _mute_word(*, subscription: Subscription, word: str) -> str:
    """Add ``word`` to the muted words (once); returns it as stored."""
    existing = list(subscription.muted_words or ())
    try:
        cleaned = muted_words_clean(words=[*existing, word])
    except (QueryError, SubscriptionError) as exc:
        raise FeedbackError(str(exc)) from exc
    if list(cleaned) != existing:
        subscription.muted_words = list(cleaned)
        subscription.save(update_fields=["muted_words", "updated_at"])
    (added,) = muted_words_clean(words=[word])
    return added


def _follow_author(*, subscription: Subscription, name: str, initials: bool = False) -> str:
    """Add an ``author:"..."`` interest (once); returns the author name."""
    query = author_query(name, initials=initials)
    if not query:
        raise FeedbackError("Write the author's name, for example: Jan Müller")
    if any(q.casefold() == query.casefold() for q in subscription.interests.values_list("query", flat=True)):
        return name.strip()
    try:
        interest_add(subscription=subscription, query=query)
    except (QueryError, SubscriptionError) as exc:
        raise FeedbackError(str(exc)) from exc
    return name.strip()


def author_follow(*, subscription: Subscription, name: str, initials: bool = False) -> str:
    """Follow an author from the preferences page; idempotent. Raises FeedbackError with a clear message.

    ``initials`` also matches the name written with initials ("J. Müller" for "Jan Müller")."""
    clean = " ".join(name.split())
    if not clean:
        raise FeedbackError("Write the author's name, for example: Jan Müller")
    with transaction.atomic():
        Subscription.objects.select_for_update().filter(id=subscription.id).first()
        return _follow_author(subscription=subscription, name=clean, initials=initials)


# --------------------------------------------------------------------------------------------------
# The private Atom feed's secret
# --------------------------------------------------------------------------------------------------


def feed_secret_new() -> str:
    return secrets.token_urlsafe(24)


def feed_token_ensure(*, subscription: Subscription) -> str:
    """The subscription's feed secret, created on first use (concurrent first uses agree on one)."""
    if not subscription.feed_token:
        Subscription.objects.filter(id=subscription.id, feed_token="").update(feed_token=feed_secret_new())
        subscription.refresh_from_db(fields=["feed_token"])
    return subscription.feed_token


def feed_url_for(*, subscription: Subscription) -> str:
    """The subscriber's private feed URL (for the preferences page), creating the secret on first use."""
    return feed_url_make(
        subscription_id=subscription.id,
        secret=feed_token_ensure(subscription=subscription),
        address=subscription.user.email,
    )


def feed_token_regenerate(*, subscription: Subscription) -> str:
    """A new secret: every feed URL given out before stops working at once."""
    subscription.feed_token = feed_secret_new()
    subscription.save(update_fields=["feed_token", "updated_at"])
    return subscription.feed_token
