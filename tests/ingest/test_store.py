"""Storing papers (digest/services/ingest/store.py): one row per paper whatever the sources."""

from __future__ import annotations

import pytest

from digest.ingest.records import PaperRecord
from digest.models import Paper
from digest.services.ingest.store import papers_store

pytestmark = pytest.mark.django_db

TITLE = "On the magnetic needle near a current"


def test_two_sources_spelling_the_first_author_with_and_without_special_letters_store_one_paper():
    first = PaperRecord(source="rss", title=TITLE, abstract="a", authors=["Hans Christian Ørsted"])
    second = PaperRecord(source="jsonl", title=TITLE, abstract="a", authors=["H. C. Orsted"])

    stored = papers_store(records=[first, second])

    assert (stored.new, Paper.objects.count()) == (1, 1)


def test_the_same_title_by_a_different_first_author_is_another_paper():
    first = PaperRecord(source="rss", title=TITLE, abstract="a", authors=["Hans Christian Ørsted"])
    second = PaperRecord(source="rss", title=TITLE, abstract="a", authors=["André-Marie Ampère"])

    stored = papers_store(records=[first, second])

    assert (stored.new, Paper.objects.count()) == (2, 2)
