"""Reads of papers for matching, rendering and the admin's id lookups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet, Sum

from digest.matching import PaperDoc
from digest.models import Paper

# Only what the matching engine needs; abstracts can be long, so nothing else is loaded.
_DOC_FIELDS = ("id", "title", "abstract", "authors", "categories", "popularity")


def paper_docs_ingested_between(*, start: datetime, end: datetime) -> list[PaperDoc]:
    """Visible papers ingested in ``(start, end]``, as plain records for the matching engine."""
    rows = (
        Paper.objects.filter(hidden=False, duplicate_of__isnull=True, ingested_at__gt=start, ingested_at__lte=end)
        .order_by("id")
        .values_list(*_DOC_FIELDS)
    )
    return [paper_doc_from_row(row) for row in rows.iterator(chunk_size=2000)]


def paper_window_fingerprint(*, start: datetime, end: datetime) -> tuple[int, int, int]:
    """(count, max id, sum of ids) of the papers ``paper_docs_ingested_between`` would return: one
    indexed aggregate, so a cached window can tell it still holds exactly those papers."""
    found = Paper.objects.filter(
        hidden=False, duplicate_of__isnull=True, ingested_at__gt=start, ingested_at__lte=end
    ).aggregate(n=Count("id"), top=Max("id"), total=Sum("id"))
    return found["n"], found["top"] or 0, found["total"] or 0


def paper_doc_from_row(row: tuple) -> PaperDoc:
    key, title, abstract, authors, categories, popularity = row
    return PaperDoc(
        key=key,
        title=title,
        abstract=abstract,
        authors=tuple(authors or ()),
        categories=tuple(categories or ()),
        popularity=popularity,
    )


def papers_visible_by_id(*, paper_ids: Iterable[int]) -> dict[int, Paper]:
    """The papers still fit to send (a moderator may have hidden one since the digest was planned)."""
    ids = set(paper_ids)
    if not ids:
        return {}
    papers = Paper.objects.filter(id__in=ids, hidden=False).only(
        "id", "title", "url", "pdf_url", "hf_url", "authors", "categories", "popularity", "arxiv_id"
    )
    return {paper.id: paper for paper in papers}


def paper_by_any_id(*, value: str) -> Paper | None:
    """The paper an operator means by ``value``: its external id, its arXiv id or its row id (lowest first)."""
    value = value.strip()
    lookup = Q(external_id=value) | Q(arxiv_id=value)
    if value.isdigit():
        lookup |= Q(pk=int(value))
    return Paper.objects.filter(lookup).order_by("id").first()


def papers_with_external_id(*, papers: QuerySet[Paper], value: str) -> QuerySet[Paper]:
    """Those of ``papers`` whose external id or arXiv id is exactly ``value`` (both unique indexes)."""
    return papers.filter(Q(external_id=value) | Q(arxiv_id=value))
