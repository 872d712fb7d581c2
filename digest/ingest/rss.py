"""Any RSS 2.0 / Atom feed by URL (a journal's, a lab's), via feedparser.

The paper's identity, in order: an arXiv id found in the entry's id or link, a DOI, the entry's own
id/guid/link; with none of those the normalised title plus first author decides (in the store).
Summaries are HTML more often than not: they are reduced to plain text by the allow-list sanitiser.
"""

from __future__ import annotations

from datetime import datetime

from digest.ingest.arxiv import abs_url, pdf_url
from digest.ingest.http import HttpClient
from digest.ingest.parsing import entry_date, feed_parse
from digest.ingest.records import FeedSpec, FetchError, FetchResult, PaperRecord, Skip, Validators
from digest.ingest.text import (
    ABSTRACT_MAX,
    TITLE_MAX,
    arxiv_id_parse,
    authors_split,
    doi_clean,
    html_to_text,
    id_hash,
    summary_to_text,
    text_clean,
    url_clean,
)


def fetch(*, spec: FeedSpec, client: HttpClient, since=None, now: datetime | None = None) -> FetchResult:
    if not spec.url:
        raise FetchError("an RSS/Atom feed needs a URL")
    stored = spec.cursor.get("validators", {}).get(spec.url, {})
    response = client.get(
        spec.url,
        validators=None if since else Validators(**stored),
        accept="application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5",
    )
    result = FetchResult(http_status=response.status)
    if response.not_modified:
        result.not_modified = True
        return result
    result.validators[spec.url] = response.validators
    parsed = feed_parse(response.body, charset=response.charset)
    if parsed.get("bozo"):
        result.error = f"feed is not well-formed ({parsed.get('bozo_exception')}); read leniently"
    records, skipped = entries_parse(parsed.entries)
    result.records, result.skipped = records, skipped
    return result


def entries_parse(entries) -> tuple[list[PaperRecord], list[Skip]]:
    records: list[PaperRecord] = []
    skipped: list[Skip] = []
    for position, entry in enumerate(entries, start=1):
        ref = text_clean(entry.get("id") or entry.get("link") or "")[:200] or f"entry {position}"
        try:
            records.append(entry_parse(entry, ref=ref))
        except ValueError as exc:
            skipped.append(Skip(entry=ref, reason=str(exc)))
    return records, skipped


def _summary(entry) -> str:
    detail = entry.get("summary_detail") or {}
    if entry.get("summary"):
        return summary_to_text(entry["summary"], content_type=detail.get("type", ""), limit=ABSTRACT_MAX)
    for content in entry.get("content") or []:
        if content.get("value"):
            return summary_to_text(content["value"], content_type=content.get("type", ""), limit=ABSTRACT_MAX)
    return ""


def _doi(entry) -> str:
    for key in ("prism_doi", "dc_identifier", "id", "link"):
        doi = doi_clean(entry.get(key) or "")
        if doi:
            return doi
    return ""


def entry_parse(entry, *, ref: str = "") -> PaperRecord:
    detail = entry.get("title_detail") or {}
    title = summary_to_text(entry.get("title") or "", content_type=detail.get("type", ""), limit=TITLE_MAX)
    if not title:
        raise ValueError("entry has no title")
    raw_id = text_clean(entry.get("id") or "")
    link = url_clean(entry.get("link") or "")
    parsed = arxiv_id_parse(raw_id) or arxiv_id_parse(link)
    doi = _doi(entry)
    source_id = ""
    if not parsed:
        if doi:
            source_id = f"doi:{doi}"
        elif raw_id or link:
            own = raw_id or link
            source_id = f"rss:{own}" if len(own) <= 200 else f"rss:{id_hash(own)}"
    authors: list[str] = []
    for author in entry.get("authors") or []:
        authors.extend(authors_split(author.get("name", "")))
    if not authors and entry.get("author"):
        authors = authors_split(entry["author"])
    categories = [text_clean(t.get("term"), limit=64) for t in entry.get("tags") or []]
    published = entry_date(entry, "published_parsed")
    updated = entry_date(entry, "updated_parsed")
    arxiv_id, version = parsed if parsed else ("", None)
    return PaperRecord(
        source="rss",
        title=title,
        abstract=_summary(entry),
        arxiv_id=arxiv_id,
        version=version,
        source_id=source_id,
        authors=[html_to_text(a, limit=300) for a in authors if a],
        categories=[c for c in dict.fromkeys(categories) if c],
        url=abs_url(arxiv_id) if arxiv_id else link,
        pdf_url=pdf_url(arxiv_id) if arxiv_id else "",
        published=published or updated,
        updated=updated,
        extra={"doi": doi} if doi else {},
        ref=ref,
    )
