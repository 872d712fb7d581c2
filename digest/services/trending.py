"""A subscriber's trending choices (issue 19): a trending digest instead of keywords, its categories,
and the "Trending today" section of a keyword digest. Validated here whatever the caller."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from digest.models import Subscription
from digest.services.subscriptions import SubscriptionError

# The arXiv categories offered as tick boxes (no typing); the ones Hugging Face Daily Papers carry most.
TRENDING_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("cs.AI", "Artificial intelligence"),
    ("cs.CL", "Computation and language"),
    ("cs.CV", "Computer vision"),
    ("cs.LG", "Machine learning"),
    ("cs.RO", "Robotics"),
    ("cs.IR", "Information retrieval"),
    ("cs.CR", "Cryptography and security"),
    ("cs.SD", "Sound"),
    ("stat.ML", "Statistics: machine learning"),
)
TRENDING_SECTION_MAX = 10


def trending_categories_clean(*, categories: Iterable[str]) -> list[str]:
    known = {code for code, _ in TRENDING_CATEGORIES}
    chosen = sorted({c.strip() for c in categories if c.strip()})
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise SubscriptionError(f"Unknown category {unknown[0]!r}; pick from the list.")
    return chosen


@transaction.atomic
def subscription_trending_set(
    *, subscription: Subscription, digest: str, categories: Iterable[str] = (), section: int = 0
) -> Subscription:
    """Switch between a keyword and a trending digest; set the categories and the section's size."""
    if digest not in Subscription.Digest.values:
        raise SubscriptionError("Choose papers matching your interests, or trending papers.")
    if not 0 <= section <= TRENDING_SECTION_MAX:
        raise SubscriptionError(f"The Trending today section holds 0 to {TRENDING_SECTION_MAX} papers.")
    subscription.digest = digest
    subscription.trending_categories = trending_categories_clean(categories=categories)
    subscription.trending_section = section
    subscription.save(update_fields=["digest", "trending_categories", "trending_section", "updated_at"])
    return subscription
