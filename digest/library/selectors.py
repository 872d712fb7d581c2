"""Reading libraries: for the library page, and as plain records for matching.

"More like this" clicks are part of the library: a liked paper counts exactly like an imported one
(while the like stands: a later "less like this" takes it out again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q

from digest.db import Listed
from digest.models import Feedback, LibraryItem, LibraryPaper, Paper, SentPaper, Subscription

from .records import LibraryPaperDoc
from .resolve import library_key
from .words import TermVector, term_vector

_BATCH = 5000


@dataclass
class LibraryData:
    """Libraries of many subscribers as the matcher takes them."""

    papers: dict[str, LibraryPaperDoc] = field(default_factory=dict)
    keys: dict[int, tuple[str, ...]] = field(default_factory=dict)  # subscription -> library paper keys
    own: dict[int, set[int]] = field(default_factory=dict)  # subscription -> ingested Paper ids it holds


@dataclass(frozen=True)
class LibraryEntry:
    """One row of the library page."""

    title: str
    source: str  # "BibTeX file", "More like this", ...
    url: str
    item_id: int | None  # None for a liked paper (unliked from the digest, not here)


def library_has_papers_q() -> Q:
    """Subscriptions with at least one library paper or liked paper (for the planner's candidates)."""
    return Q(Exists(LibraryItem.objects.filter(subscription_id=OuterRef("id")))) | Q(
        Exists(Feedback.objects.filter(subscription_id=OuterRef("id"), kind=Feedback.Kind.LIKE))
    )


def library_entries_of(*, subscription: Subscription) -> list[LibraryEntry]:
    items = LibraryItem.objects.filter(subscription=subscription).select_related("paper").order_by("-added_at", "-id")
    entries = [
        LibraryEntry(title=i.paper.title, source=i.get_source_display(), url=i.paper.url, item_id=i.id) for i in items
    ]
    liked = (
        Feedback.objects.filter(subscription=subscription, kind=Feedback.Kind.LIKE)
        .select_related("paper")
        .order_by("-created_at", "-id")
    )
    entries += [
        LibraryEntry(title=f.paper.title, source="More like this", url=f.paper.url, item_id=None) for f in liked
    ]
    return entries


def library_size_of(*, subscription: Subscription) -> int:
    return (
        LibraryItem.objects.filter(subscription=subscription).count()
        + Feedback.objects.filter(subscription=subscription, kind=Feedback.Kind.LIKE).count()
    )


def libraries_for(*, subscription_ids: Sequence[int]) -> LibraryData:
    """The libraries of these subscribers (imported papers and liked ones), as plain records."""
    data = LibraryData()
    keys: dict[int, list[str]] = defaultdict(list)
    arxiv_of: dict[str, str] = {}
    for start in range(0, len(subscription_ids), _BATCH):
        batch = subscription_ids[start : start + _BATCH]
        rows = (
            LibraryItem.objects.filter(subscription_id__any=Listed(batch))
            .order_by("subscription_id", "id")
            .values_list("subscription_id", "paper_id")
        )
        per_paper: dict[int, list[int]] = defaultdict(list)
        for sub_id, paper_id in rows:
            per_paper[paper_id].append(sub_id)
        for paper in LibraryPaper.objects.filter(id__in=list(per_paper)).values(
            "id", "key", "title", "abstract", "terms", "paper_id", "arxiv_id"
        ):
            data.papers.setdefault(paper["key"], _doc(paper["key"], paper["title"], paper["abstract"], paper["terms"]))
            if paper["arxiv_id"]:
                arxiv_of[paper["key"]] = paper["arxiv_id"]
            for sub_id in per_paper[paper["id"]]:
                keys[sub_id].append(paper["key"])
                if paper["paper_id"]:
                    data.own.setdefault(sub_id, set()).add(paper["paper_id"])
        _likes_add(batch, data, keys)
    _own_by_arxiv(data, keys, arxiv_of)
    data.keys = {sub_id: tuple(dict.fromkeys(k)) for sub_id, k in keys.items()}
    return data


def _doc(key: str, title: str, abstract: str, terms: dict | None) -> LibraryPaperDoc:
    return LibraryPaperDoc(key=key, title=title, abstract=abstract, terms=TermVector.from_json(terms))


def _likes_add(batch: Sequence[int], data: LibraryData, keys: dict[int, list[str]]) -> None:
    likes = Feedback.objects.filter(subscription_id__any=Listed(batch), kind=Feedback.Kind.LIKE).values_list(
        "subscription_id", "paper_id"
    )
    by_paper: dict[int, list[int]] = defaultdict(list)
    for sub_id, paper_id in likes:
        by_paper[paper_id].append(sub_id)
    if not by_paper:
        return
    for pk, title, abstract, arxiv_id, extra in Paper.objects.filter(id__in=list(by_paper)).values_list(
        "id", "title", "abstract", "arxiv_id", "extra"
    ):
        key = library_key(arxiv_id=arxiv_id, doi=str((extra or {}).get("doi", "")), title=title)
        if key not in data.papers:
            data.papers[key] = LibraryPaperDoc(
                key=key, title=title, abstract=abstract, terms=term_vector(title, abstract)
            )
        for sub_id in by_paper[pk]:
            keys[sub_id].append(key)
            data.own.setdefault(sub_id, set()).add(pk)


def _own_by_arxiv(data: LibraryData, keys: dict[int, list[str]], arxiv_of: dict[str, str]) -> None:
    """Ingested papers that are library papers by arXiv id (ingested after the import) are the
    subscriber's own too: never "like" themselves."""
    if not arxiv_of:
        return
    papers_by_arxiv: dict[str, set[int]] = defaultdict(set)
    ids = sorted(set(arxiv_of.values()))
    for start in range(0, len(ids), _BATCH):
        for pk, arxiv_id in Paper.objects.filter(arxiv_id__in=ids[start : start + _BATCH]).values_list(
            "id", "arxiv_id"
        ):
            papers_by_arxiv[arxiv_id].add(pk)
    for sub_id, sub_keys in keys.items():
        for key in sub_keys:
            if key in arxiv_of:
                data.own.setdefault(sub_id, set()).update(papers_by_arxiv.get(arxiv_of[key], ()))


def library_docs_of(*, subscription_id: int) -> tuple[list[LibraryPaperDoc], frozenset[int]]:
    """One subscriber's library papers and the ingested papers among them (the live preview)."""
    data = libraries_for(subscription_ids=[subscription_id])
    docs = [data.papers[k] for k in data.keys.get(subscription_id, ())]
    return docs, frozenset(data.own.get(subscription_id, set()))


def subscription_ids_with_library(*, subscription_ids: Iterable[int]) -> set[int]:
    ids = list(subscription_ids)
    found: set[int] = set()
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        found.update(
            LibraryItem.objects.filter(subscription_id__any=Listed(batch)).values_list("subscription_id", flat=True)
        )
        found.update(
            Feedback.objects.filter(subscription_id__any=Listed(batch), kind=Feedback.Kind.LIKE).values_list(
                "subscription_id", flat=True
            )
        )
    return found


def library_imported_docs(*, subscription_id: int) -> list[LibraryPaperDoc]:
    """The papers a subscriber imported or picked (not their likes): the learned ranking's prior."""
    rows = LibraryPaper.objects.filter(items__subscription_id=subscription_id).order_by("id")
    return [_doc(p.key, p.title, p.abstract, p.terms) for p in rows.only("key", "title", "abstract", "terms")]


def archive_papers_to_pick(*, subscription: Subscription, limit: int = 30) -> list[Paper]:
    """The latest papers this subscriber was sent that are not in their library yet (newest first)."""
    in_library = LibraryItem.objects.filter(subscription=subscription, paper__paper_id__isnull=False).values(
        "paper__paper_id"
    )
    rows = (
        SentPaper.objects.filter(subscription=subscription)
        .exclude(paper_id__in=in_library)
        .select_related("paper")
        .only("paper__id", "paper__title", "paper__url", "sent_at")
        .order_by("-sent_at", "-id")[:limit]
    )
    return [row.paper for row in rows]
