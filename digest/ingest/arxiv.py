"""arXiv API adapter (Atom from ``export.arxiv.org/api/query``).

A feed is a list of categories fetched for a submitted-date window, sorted by submission date,
paged with ``start``/``max_results`` until ``opensearch:totalResults``; at most one request per
``PAPERBOY_ARXIV_DELAY_SECONDS`` (arXiv asks for 3 s). The window starts a few days before the
cursor because papers are sometimes announced days after submission; duplicates are harmless.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse
from xml.etree.ElementTree import Element

from django.conf import settings

from digest.ingest.http import HttpClient
from digest.ingest.parsing import datetime_parse, xml_parse
from digest.ingest.records import FeedSpec, FetchError, FetchResult, PaperRecord, Skip, since_as_date
from digest.ingest.text import (
    ABSTRACT_MAX,
    TITLE_MAX,
    arxiv_id_parse,
    doi_clean,
    text_clean,
)

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://export.arxiv.org/api/query"
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
# An arXiv category name: "cs.LG", "hep-th", "astro-ph.CO", "q-bio.NC", "math-ph" (archive, then an
# optional subject class; each part starts with a letter). The one pattern feeds, suggestions and add_feed use.
ARXIV_CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")


def search_query(categories: list[str], *, start: datetime, end: datetime) -> str:
    for category in categories:
        if not ARXIV_CATEGORY_RE.match(category):
            raise FetchError(f"not an arXiv category: {category!r}")
    cats = " OR ".join(f"cat:{c}" for c in categories)
    window = f"submittedDate:[{start:%Y%m%d%H%M} TO {end:%Y%m%d%H%M}]"
    return f"({cats}) AND {window}" if len(categories) > 1 else f"{cats} AND {window}"


def window_start(*, spec: FeedSpec, since, now: datetime) -> datetime:
    since_day = since_as_date(since)
    if since_day is not None:
        return datetime(since_day.year, since_day.month, since_day.day, tzinfo=UTC)
    overlap = timedelta(days=float(spec.params.get("overlap_days", 3)))
    last_seen = datetime_parse(spec.cursor.get("last_published"))
    if last_seen is not None:
        return last_seen - overlap
    return now - timedelta(days=float(spec.params.get("days", 3)))


def fetch(*, spec: FeedSpec, client: HttpClient, since=None, now: datetime | None = None) -> FetchResult:
    if not spec.categories:
        raise FetchError("an arXiv feed needs at least one category (e.g. cs.LG)")
    now = now or datetime.now(UTC)
    base = spec.url or DEFAULT_URL
    host = (urlparse(base).hostname or "").lower()
    page_size = max(1, min(int(spec.params.get("page_size", 100)), 2000))
    max_pages = max(1, int(spec.params.get("max_pages", 10)))
    query = search_query(spec.categories, start=window_start(spec=spec, since=since, now=now), end=now)

    result = FetchResult()
    start = 0
    total: int | None = None
    for page in range(max_pages):
        params = {
            "search_query": query,
            "start": start,
            "max_results": page_size,
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        try:
            response = client.get(
                base, params=params, accept="application/atom+xml", min_interval=settings.PAPERBOY_ARXIV_DELAY_SECONDS
            )
            result.http_status = response.status
            root = xml_parse(response.body, charset=response.charset, what="an arXiv API Atom feed")
            records, skipped, page_total = page_parse(root)
        except FetchError as exc:
            if page == 0:
                raise
            # Keep what earlier pages gave us; the run is partial and the next run overlaps anyway.
            result.error = f"page {page + 1} (start={start}): {exc}"
            break
        result.records.extend(records)
        result.skipped.extend(skipped)
        total = page_total if page_total is not None else total
        start += page_size
        if not records and not skipped:
            break
        if total is not None and start >= total:
            break
    else:
        if total is not None and start < total:
            result.error = f"stopped after {max_pages} pages of {page_size}: {total - start} more results not read"

    published = [r.published for r in result.records if r.published]
    if published and not result.error:
        result.cursor = {"last_published": max(published).isoformat()}
    logger.info("arXiv %s: %d records from %s", host, len(result.records), base)
    return result


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"


def _text(element: Element | None) -> str:
    return "" if element is None or element.text is None else element.text


def page_parse(root: Element) -> tuple[list[PaperRecord], list[Skip], int | None]:
    """One Atom page → records, skips, and ``opensearch:totalResults``."""
    if root.tag != f"{{{NS['atom']}}}feed":
        raise FetchError(f"not an Atom feed: the document's root element is <{root.tag}>")
    total_text = _text(root.find("opensearch:totalResults", NS)).strip()
    total = int(total_text) if total_text.isdigit() else None
    entries = root.findall("atom:entry", NS)
    # The API reports a bad query as a feed with one entry whose id points at /api/errors.
    for entry in entries:
        if "/api/errors" in _text(entry.find("atom:id", NS)):
            # Not quoted: a run's error never carries the response body. The query is the feed's own.
            raise FetchError("the arXiv API refused the query (check the feed's categories and params)")
    records: list[PaperRecord] = []
    skipped: list[Skip] = []
    for position, entry in enumerate(entries, start=1):
        try:
            record = entry_parse(entry)
        except ValueError as exc:
            ref = text_clean(_text(entry.find("atom:id", NS))) or f"entry {position}"
            skipped.append(Skip(entry=ref[:200], reason=str(exc)))
            continue
        records.append(record)
    return records, skipped, total


def entry_parse(entry: Element) -> PaperRecord:
    raw_id = text_clean(_text(entry.find("atom:id", NS)))
    parsed = arxiv_id_parse(raw_id)
    if not raw_id:
        raise ValueError("entry has no id")
    if parsed is None:
        raise ValueError(f"not an arXiv id: {raw_id[:100]!r}")
    arxiv_id, version = parsed
    if version is None:
        # Some ids come without a version; the alternate link usually carries it.
        for link in entry.findall("atom:link", NS):
            linked = arxiv_id_parse(link.get("href", ""))
            if linked and linked[0] == arxiv_id and linked[1] is not None:
                version = linked[1]
                break
    title = text_clean(_text(entry.find("atom:title", NS)), limit=TITLE_MAX)
    if not title:
        raise ValueError("entry has no title")
    primary = entry.find("arxiv:primary_category", NS)
    categories = [c.get("term", "").strip() for c in entry.findall("atom:category", NS)]
    categories = [c for c in dict.fromkeys(categories) if c]
    extra = {
        "doi": doi_clean(_text(entry.find("arxiv:doi", NS))),
        "comment": text_clean(_text(entry.find("arxiv:comment", NS)), limit=1000),
        "journal_ref": text_clean(_text(entry.find("arxiv:journal_ref", NS)), limit=500),
    }
    authors = [text_clean(_text(a.find("atom:name", NS)), limit=300) for a in entry.findall("atom:author", NS)]
    return PaperRecord(
        source="arxiv",
        title=title,
        abstract=text_clean(_text(entry.find("atom:summary", NS)), limit=ABSTRACT_MAX),
        arxiv_id=arxiv_id,
        version=version,
        authors=[a for a in authors if a],
        categories=categories,
        primary_category=(primary.get("term", "") if primary is not None else "") or (categories[:1] or [""])[0],
        # Versionless canonical links: the same paper links the same way from every source.
        url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id),
        published=datetime_parse(_text(entry.find("atom:published", NS))),
        updated=datetime_parse(_text(entry.find("atom:updated", NS))),
        extra={k: v for k, v in extra.items() if v},
        ref=raw_id[:200],
    )
