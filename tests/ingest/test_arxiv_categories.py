"""One arXiv category pattern (digest/ingest/arxiv.py ARXIV_CATEGORY_RE) for fetching, suggesting and add_feed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from digest.ingest.arxiv import search_query
from digest.ingest.records import FetchError
from digest.models import Feed
from digest.services import moderation
from digest.services.ingest.feeds import FeedConfigError, feed_create
from tests.factories import subscriber_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
REAL = ["cs.LG", "hep-th", "astro-ph.CO", "q-bio.NC", "math-ph", "stat.ML"]
# A part that does not start with a letter is no category (the ingest pattern used to let these through).
NOT_CATEGORIES = ["-cs", "cs.-LG", "cs.", "CS.LG", "cs LG", "cs.LG;DROP"]


@pytest.mark.parametrize("category", REAL)
def test_real_categories_are_accepted_by_fetching_suggesting_and_add_feed(category):
    suggester = subscriber_make(email="ada@example.org", interests=[]).user

    suggested = moderation.feed_suggest(user=suggester, kind=Feed.Kind.ARXIV, target=category, reason="my field")
    added = feed_create(kind=Feed.Kind.ARXIV, name=f"add_feed {category}", categories=[category])

    assert f"cat:{category}" in search_query([category], start=NOW, end=NOW)
    assert suggested.categories == added.categories == category


@pytest.mark.parametrize("text", NOT_CATEGORIES)
def test_what_is_not_a_category_is_refused_by_all_three(text):
    with pytest.raises(FetchError):
        search_query([text], start=NOW, end=NOW)
    with pytest.raises(FeedConfigError):
        feed_create(kind=Feed.Kind.ARXIV, name="bad", categories=[text])
    suggester = subscriber_make(email="ada@example.org", interests=[]).user
    with pytest.raises(ValidationError):
        moderation.feed_suggest(user=suggester, kind=Feed.Kind.ARXIV, target=text, reason="my field")
