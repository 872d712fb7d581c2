"""arXiv daily announcement listings (``rss.arxiv.org/atom/cs.LG+cs.CL``, Atom or RSS 2.0) via feedparser.

Unlike the API: ``entry/id`` is ``oai:arXiv.org:2508.13426v1``, the summary starts with
``arXiv:2508.13426v1 Announce Type: new`` before ``Abstract:`` (stripped), ``dc:creator`` is one
comma-separated string, and ``arxiv:announce_type`` says ``new``/``cross`` (new papers) or
``replace``/``replace-cross`` (a new version of an old paper: it may update a paper we hold,
never insert one). arXiv announces Sunday–Thursday at 20:00 US Eastern; a listing on other days
is simply empty.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings

from digest.ingest.arxiv import abs_url, pdf_url
from digest.ingest.http import HttpClient
from digest.ingest.parsing import entry_date, feed_parse
from digest.ingest.records import FeedSpec, FetchError, FetchResult, PaperRecord, Skip, Validators
from digest.ingest.text import ABSTRACT_MAX, TITLE_MAX, arxiv_id_parse, authors_split, summary_to_text, text_clean

DEFAULT_BASE = "https://rss.arxiv.org/atom"
_ANNOUNCE_PREFIX = re.compile(r"^\s*arXiv:\S+\s+Announce\s+Type:\s*[\w\-]+\s*(?:Abstract:\s*)?", re.I)
NEW_TYPES = {"new", "cross"}
REPLACE_TYPES = {"replace", "replace-cross"}


def listing_url(spec: FeedSpec) -> str:
    if not spec.categories:
        raise FetchError("an arXiv listing feed needs at least one category (e.g. cs.LG)")
    joined = "+".join(spec.categories)
    base = spec.url or DEFAULT_BASE
    if "{categories}" in base:
        return base.replace("{categories}", joined)
    if base.rstrip("/").endswith(f"/{joined}"):
        return base.rstrip("/")  # the operator gave the full listing URL
    return f"{base.rstrip('/')}/{joined}"


def fetch(*, spec: FeedSpec, client: HttpClient, since=None, now: datetime | None = None) -> FetchResult:
    url = listing_url(spec)
    # A --since re-run wants the listing even if it has not changed since our last fetch.
    stored = spec.cursor.get("validators", {}).get(url, {})
    validators = None if since else Validators(**stored)
    response = client.get(
        url,
        validators=validators,
        accept="application/atom+xml, application/rss+xml",
        min_interval=settings.PAPERBOY_ARXIV_DELAY_SECONDS,
    )
    result = FetchResult(http_status=response.status)
    if response.not_modified:
        result.not_modified = True
        return result
    result.validators[url] = response.validators
    parsed = feed_parse(response.body, charset=response.charset, what="an arXiv listing feed")
    if parsed.get("bozo"):
        result.error = f"feed is not well-formed ({parsed.get('bozo_exception')}); read leniently"
    for position, entry in enumerate(parsed.entries, start=1):
        ref = text_clean(entry.get("id") or entry.get("link") or f"entry {position}")[:200]
        try:
            result.records.append(entry_parse(entry))
        except ValueError as exc:
            result.skipped.append(Skip(entry=ref, reason=str(exc)))
    announced = [r.published for r in result.records if r.published]
    if announced:
        result.cursor = {"last_announced": max(announced).isoformat()}
    return result


def entry_parse(entry) -> PaperRecord:
    raw_id = text_clean(entry.get("id") or "")
    parsed = arxiv_id_parse(raw_id) or arxiv_id_parse(text_clean(entry.get("link") or ""))
    if parsed is None:
        raise ValueError(f"no arXiv id in entry id {raw_id[:100]!r}" if raw_id else "entry has no id")
    arxiv_id, version = parsed
    title = text_clean(entry.get("title"), limit=TITLE_MAX)
    if not title:
        raise ValueError("entry has no title")
    detail = entry.get("summary_detail") or {}
    summary = summary_to_text(entry.get("summary", ""), content_type=detail.get("type", ""))
    abstract = text_clean(_ANNOUNCE_PREFIX.sub("", summary), limit=ABSTRACT_MAX)
    announce_type = text_clean(entry.get("arxiv_announce_type", "new")).lower() or "new"
    authors: list[str] = []
    for author in entry.get("authors") or []:
        authors.extend(authors_split(author.get("name", "")))
    if not authors and entry.get("author"):
        authors = authors_split(entry.get("author"))
    categories = [text_clean(t.get("term")) for t in entry.get("tags") or []]
    categories = [c for c in dict.fromkeys(categories) if c]
    published = entry_date(entry, "published_parsed")
    return PaperRecord(
        source="arxiv_rss",
        title=title,
        abstract=abstract,
        arxiv_id=arxiv_id,
        version=version,
        authors=authors,
        categories=categories,
        primary_category=categories[0] if categories else "",
        url=abs_url(arxiv_id),
        pdf_url=pdf_url(arxiv_id),
        published=published,
        updated=entry_date(entry, "updated_parsed") or published,
        ref=raw_id[:200] or arxiv_id,
        update_only=announce_type in REPLACE_TYPES,
    )
