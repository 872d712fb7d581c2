"""From what a subscriber handed in (citations) to library papers with a title and, if at all
possible, an abstract: first the papers Paperboy already has (ingested papers, other subscribers'
library papers), then, where the operator allows it, the arXiv API through the existing adapter.

An id nobody can resolve is an error naming where it came from; the caller imports nothing then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings

from digest.ingest.arxiv import page_parse
from digest.ingest.http import HttpClient
from digest.ingest.parsing import xml_parse
from digest.ingest.records import FetchError, PaperRecord
from digest.ingest.text import title_key
from digest.models import LibraryPaper, Paper

from .parse import Citation, LibraryImportError

logger = logging.getLogger(__name__)

ARXIV_BATCH = 50  # ids per arXiv API request

ArxivLookup = Callable[[Sequence[str]], dict[str, PaperRecord]]


@dataclass(frozen=True)
class Resolved:
    """A library paper ready to store: its key and text, and the ingested paper it is, if any."""

    key: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    year: int | None
    arxiv_id: str
    doi: str
    url: str
    paper_id: int | None
    where: str


def library_key(*, arxiv_id: str = "", doi: str = "", title: str = "") -> str:
    """The one key of a library paper: its arXiv id, else its DOI, else its normalised title."""
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    if doi:
        return f"doi:{doi.lower()}"
    return f"title:{title_key(title)}"[:300]


def arxiv_lookup_from_settings() -> ArxivLookup | None:
    """The arXiv API lookup when the operator switched it on (``PAPERBOY_LIBRARY_ARXIV_LOOKUP``)."""
    if not settings.PAPERBOY_LIBRARY_ARXIV_LOOKUP:
        return None
    client = HttpClient.from_settings()
    url = settings.PAPERBOY_LIBRARY_ARXIV_URL

    def lookup(ids: Sequence[str]) -> dict[str, PaperRecord]:
        return arxiv_records_fetch(ids=ids, client=client, url=url)

    return lookup


def arxiv_records_fetch(*, ids: Sequence[str], client: HttpClient, url: str) -> dict[str, PaperRecord]:
    """arXiv's metadata for these ids (``id_list`` queries, parsed by the arXiv adapter), by id."""
    found: dict[str, PaperRecord] = {}
    for start in range(0, len(ids), ARXIV_BATCH):
        batch = list(ids[start : start + ARXIV_BATCH])
        response = client.get(
            url,
            params={"id_list": ",".join(batch), "max_results": len(batch)},
            accept="application/atom+xml",
            min_interval=float(settings.PAPERBOY_ARXIV_DELAY_SECONDS),
        )
        root = xml_parse(response.body, charset=response.charset, what="an arXiv API Atom feed")
        records, _skipped, _total = page_parse(root)
        found.update({r.arxiv_id: r for r in records if r.arxiv_id})
    return found


def _known_papers(citations: Sequence[Citation]) -> tuple[dict[str, Paper], dict[str, Paper], dict[str, Paper]]:
    """Ingested papers by arXiv id, DOI and title key (newest first wins)."""
    arxiv_ids = {c.arxiv_id for c in citations if c.arxiv_id}
    dois = {c.doi for c in citations if c.doi}
    titles = {title_key(c.title) for c in citations if c.title and not c.arxiv_id and not c.doi}
    fields = ("id", "arxiv_id", "title", "abstract", "authors", "url", "extra", "title_key", "published")
    visible = Paper.objects.filter(duplicate_of__isnull=True).only(*fields).order_by("id")
    by_arxiv = {p.arxiv_id: p for p in visible.filter(arxiv_id__in=arxiv_ids)} if arxiv_ids else {}
    by_doi = {}
    if dois:
        by_doi = {str((p.extra or {}).get("doi", "")).lower(): p for p in visible.filter(extra__doi__in=list(dois))}
    by_title = {p.title_key: p for p in visible.filter(title_key__in=titles)} if titles else {}
    return by_arxiv, by_doi, by_title


def citations_resolve(*, citations: Sequence[Citation], lookup: ArxivLookup | None = None) -> list[Resolved]:
    """Every citation as a library paper, or :class:`LibraryImportError` naming each that cannot be."""
    by_arxiv, by_doi, by_title = _known_papers(citations)
    keys = [library_key(arxiv_id=c.arxiv_id, doi=c.doi, title=c.title) for c in citations]
    stored = {p.key: p for p in LibraryPaper.objects.filter(key__in=keys)}
    missing = [
        c.arxiv_id
        for c, key in zip(citations, keys, strict=True)
        if c.arxiv_id and not c.title and c.arxiv_id not in by_arxiv and key not in stored
    ]
    fetched: dict[str, PaperRecord] = {}
    fetch_error = ""
    if missing and lookup is not None:
        try:
            fetched = lookup(sorted(set(missing)))
        except FetchError as err:
            logger.warning("arXiv lookup for a library import failed: %s", err)
            fetch_error = str(err)
    out: list[Resolved] = []
    problems: list[str] = []
    for citation, key in zip(citations, keys, strict=True):
        paper = (
            by_arxiv.get(citation.arxiv_id)
            or by_doi.get(citation.doi)
            or (by_title.get(title_key(citation.title)) if citation.title else None)
        )
        resolved = _resolved(citation, key, paper, stored.get(key), fetched.get(citation.arxiv_id))
        if resolved is None:
            problems.append(_unresolved_message(citation, lookup_on=lookup is not None, fetch_error=fetch_error))
        else:
            out.append(resolved)
    if problems:
        raise LibraryImportError(problems)
    return out


def _resolved(
    c: Citation, key: str, paper: Paper | None, stored: LibraryPaper | None, record: PaperRecord | None
) -> Resolved | None:
    """The best text we have for a citation: an ingested paper, a stored library paper, arXiv, the file."""
    if paper is not None:
        title, abstract, authors, url = paper.title, paper.abstract, tuple(paper.authors or ()), paper.url
        year = paper.published.year if paper.published else c.year
    elif stored is not None and (stored.abstract or not c.abstract):
        title, abstract, authors, url, year = (
            stored.title,
            stored.abstract,
            tuple(stored.authors or ()),
            stored.url,
            stored.year,
        )
    elif record is not None:
        title, abstract, authors, url = record.title, record.abstract, tuple(record.authors), record.url
        year = record.published.year if record.published else c.year
    elif c.title:
        title, abstract, authors, url, year = c.title, c.abstract, c.authors, c.url, c.year
    else:
        return None
    return Resolved(
        key=key,
        title=title,
        abstract=abstract,
        authors=authors,
        year=year,
        arxiv_id=c.arxiv_id or (paper.arxiv_id if paper else ""),
        doi=c.doi,
        url=url or c.url,
        paper_id=paper.id if paper is not None else (stored.paper_id if stored is not None else None),
        where=c.where,
    )


def _unresolved_message(c: Citation, *, lookup_on: bool, fetch_error: str) -> str:
    what = f"arXiv {c.arxiv_id}" if c.arxiv_id else f"DOI {c.doi}"
    if c.arxiv_id and lookup_on:
        why = f"arXiv could not be asked ({fetch_error})" if fetch_error else "arXiv does not know it"
    elif c.arxiv_id:
        why = "Paperboy does not have this paper yet and does not look papers up on arXiv"
    else:
        why = "Paperboy has no paper with this DOI"
    return f"{c.where}: {what}: {why}; add it from a BibTeX or RIS export, which carries its title"


def resolved_from_papers(papers: Iterable[Paper]) -> list[Resolved]:
    """Ingested papers (picked from the subscriber's archive) as library papers."""
    return [
        Resolved(
            key=library_key(arxiv_id=p.arxiv_id, doi=str((p.extra or {}).get("doi", "")), title=p.title),
            title=p.title,
            abstract=p.abstract,
            authors=tuple(p.authors or ()),
            year=p.published.year if p.published else None,
            arxiv_id=p.arxiv_id,
            doi=str((p.extra or {}).get("doi", "")),
            url=p.url,
            paper_id=p.id,
            where=f"paper {p.id}",
        )
        for p in papers
    ]
