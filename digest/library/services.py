"""Writing a subscriber's library: imports (all or nothing), picks from the archive, removals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from digest.models import LibraryItem, LibraryPaper, Paper, SentPaper, Subscription

from .parse import (
    MAX_FILE_BYTES,
    LibraryImportError,
    citations_from_identifiers,
    citations_from_upload,
)
from .resolve import ArxivLookup, Resolved, arxiv_lookup_from_settings, citations_resolve, resolved_from_papers
from .words import term_vector


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    added: int  # papers new to this library
    already: int  # papers it had already

    def message(self, origin: str = "") -> str:
        added = f"Added {self.added} paper{'s' if self.added != 1 else ''} to your library"
        added += f" from {origin}" if origin else ""
        return added + (f" ({self.already} already in it)." if self.already else ".")


def library_import_identifiers(
    *, subscription: Subscription, text: str, lookup: ArxivLookup | None = None
) -> ImportOutcome:
    """Pasted arXiv ids, DOIs and paper links; raises :class:`LibraryImportError` (nothing stored)."""
    citations = citations_from_identifiers(text)
    lookup = lookup if lookup is not None else arxiv_lookup_from_settings()
    return library_store(
        subscription=subscription,
        resolved=citations_resolve(citations=citations, lookup=lookup),
        source=LibraryItem.Source.PASTE,
    )


def library_import_file(
    *, subscription: Subscription, name: str, data: bytes, lookup: ArxivLookup | None = None
) -> ImportOutcome:
    """An uploaded BibTeX or RIS export; raises :class:`LibraryImportError` (nothing stored)."""
    if len(data) > MAX_FILE_BYTES:
        raise LibraryImportError([f"{name}: the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # old BibTeX files; every byte decodes, LaTeX accents are ASCII
    kind, citations = citations_from_upload(name=name, text=text)
    lookup = lookup if lookup is not None else arxiv_lookup_from_settings()
    source = LibraryItem.Source.BIBTEX if kind == "bibtex" else LibraryItem.Source.RIS
    return library_store(
        subscription=subscription, resolved=citations_resolve(citations=citations, lookup=lookup), source=source
    )


def library_add_papers(*, subscription: Subscription, paper_ids: Iterable[int]) -> ImportOutcome:
    """Papers from the subscriber's own archive (papers they were sent); others are refused."""
    wanted = set(paper_ids)
    sent = set(
        SentPaper.objects.filter(subscription=subscription, paper_id__in=wanted).values_list("paper_id", flat=True)
    )
    if not wanted or wanted - sent:
        raise LibraryImportError(["only papers from your own digests can be added from the archive"])
    papers = Paper.objects.filter(id__in=sent).order_by("id")
    return library_store(
        subscription=subscription, resolved=resolved_from_papers(papers), source=LibraryItem.Source.ARCHIVE
    )


@transaction.atomic
def library_store(*, subscription: Subscription, resolved: Sequence[Resolved], source: str) -> ImportOutcome:
    """Store resolved papers in the library in one transaction: all of them, or (on any error) none."""
    # Lock the subscription: two imports at once must not both pass the size check.
    Subscription.objects.select_for_update().filter(id=subscription.id).first()
    unique = list({r.key: r for r in resolved}.values())
    have = set(LibraryItem.objects.filter(subscription=subscription).values_list("paper__key", flat=True))
    new = [r for r in unique if r.key not in have]
    limit = settings.PAPERBOY_LIBRARY_MAX_PAPERS
    if len(have) + len(new) > limit:
        raise LibraryImportError(
            [f"a library holds at most {limit} papers; yours has {len(have)} and this adds {len(new)}"]
        )
    for r in new:
        paper = library_paper_upsert(resolved=r)
        LibraryItem.objects.get_or_create(subscription=subscription, paper=paper, defaults={"source": source})
    return ImportOutcome(added=len(new), already=len(unique) - len(new))


def library_paper_upsert(*, resolved: Resolved) -> LibraryPaper:
    """The shared library paper of this key, created or given the better text (an abstract, the
    ingested paper) that this import brings."""
    paper, created = LibraryPaper.objects.get_or_create(
        key=resolved.key,
        defaults={
            "title": resolved.title,
            "abstract": resolved.abstract,
            "authors": list(resolved.authors),
            "year": resolved.year,
            "arxiv_id": resolved.arxiv_id,
            "doi": resolved.doi,
            "url": resolved.url,
            "paper_id": resolved.paper_id,
            "terms": term_vector(resolved.title, resolved.abstract).to_json(),
        },
    )
    if created:
        return paper
    better_text = bool(resolved.abstract) and not paper.abstract
    if better_text or (resolved.paper_id and not paper.paper_id):
        if better_text:
            paper.title, paper.abstract = resolved.title, resolved.abstract
            paper.terms = term_vector(paper.title, paper.abstract).to_json()
        paper.paper_id = paper.paper_id or resolved.paper_id
        paper.save(update_fields=["title", "abstract", "terms", "paper"])
    return paper


def library_item_remove(*, subscription: Subscription, item_id: int) -> str:
    """Remove one paper from the library; returns its title. Raises LibraryItem.DoesNotExist for
    someone else's item (the view answers 404)."""
    item = LibraryItem.objects.select_related("paper").get(id=item_id, subscription=subscription)
    title = item.paper.title
    item.delete()
    return title
