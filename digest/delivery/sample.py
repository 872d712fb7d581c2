"""A test digest: a sample of what a subscriber would get, sent right away (the web's test button)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from digest.content import content_from_matches
from digest.delivery.envelope import message_id_make
from digest.delivery.plan import ChunksQueue
from digest.delivery.schedule import subscriber_zone
from digest.delivery.trending import trending_test_content
from digest.library.combine import POOL_FACTOR as LIBRARY_POOL_FACTOR
from digest.library.planning import digests_with_libraries
from digest.matching import PaperIndex, Profile, match_profiles
from digest.models import Delivery, Subscription
from digest.selectors.papers import paper_docs_ingested_between


def delivery_send_test(*, subscription_id: int, on_chunks: ChunksQueue, now: datetime | None = None) -> Delivery:
    """A one-off digest of the last 7 days for the subscriber, sent right away (the web's test button).

    It is a sample of what they would get: it neither skips nor records papers already sent. The row
    goes to ``on_chunks`` (the caller's queue) when something matched.
    """
    now = now or timezone.now()
    subscription = Subscription.objects.select_related("user").get(id=subscription_id)
    docs = paper_docs_ingested_between(start=now - timedelta(days=7), end=now)
    profile = Profile(
        key=subscription.id,
        interests=tuple(subscription.interests.values_list("query", flat=True)),
        muted=tuple(subscription.muted_words or ()),
        limit=subscription.max_papers * LIBRARY_POOL_FACTOR,  # a library is fused with a deeper pool
    )
    found = match_profiles(PaperIndex.build(docs), [profile]).get(subscription.id, []) if docs else []
    found = digests_with_libraries(
        matches={subscription.id: found},
        docs=docs,
        subscription_ids=[subscription.id],
        exclude={},
        limits={subscription.id: subscription.max_papers},
        muted={subscription.id: profile.muted},
    ).get(subscription.id, [])[: subscription.max_papers]
    content = content_from_matches(found)
    if subscription.digest == Subscription.Digest.TRENDING:  # a sample of their trending digest instead
        content = trending_test_content(
            categories=subscription.trending_categories or (),
            limit=subscription.max_papers,
            start=now - timedelta(days=7),
            end=now,
        )
    local_day = now.astimezone(subscriber_zone(subscription.timezone)).date()
    delivery = Delivery.objects.create(
        subscription=subscription,
        slot=local_day,
        kind=Delivery.Kind.TEST,
        state=Delivery.State.PENDING if content else Delivery.State.SKIPPED,
        send_at=now,
        expires_at=now + timedelta(hours=1),
        to_email=subscription.user.email,
        message_id=message_id_make(),
        content=content,
        paper_count=len(content),
        last_error="" if content else "no paper of the last 7 days matched your interests",
        window_start=now - timedelta(days=7),
        window_end=now,
    )
    if content:
        on_chunks([[delivery.id]])
    return delivery
