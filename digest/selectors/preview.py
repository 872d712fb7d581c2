"""What a query (or a whole subscription) would have matched over the last 7 days of papers.

The preview answers while the subscriber types, so the paper index is built once per process and
reused until the set of recent papers changes (a cheap aggregate query detects that).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone as dj_timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString

from digest.library.combine import pool_size
from digest.library.planning import digest_with_library, muted_paper_keys
from digest.library.records import LibraryPaperDoc
from digest.library.similarity import LibraryIndex
from digest.matching import PaperIndex, Profile, QueryError, match_profiles, parse_query
from digest.matching.error_words import ErrorWhere, error_where
from digest.matching.highlight import spans_merge
from digest.matching.query import Query
from digest.models import Paper
from digest.selectors.papers import paper_docs_ingested_between

logger = logging.getLogger(__name__)

PREVIEW_DAYS = 7
PREVIEW_TOP = 10
# While someone types, requests come every few hundred milliseconds: trust the index for this long
# before asking the database whether the papers changed (new papers show up this much later at most).
RECHECK_SECONDS = 10.0
# Serve the previous index while a thread builds the new one (tests switch this off: a thread has its
# own database connection and would not see a test's uncommitted papers).
REBUILD_IN_BACKGROUND = True


@dataclass(frozen=True)
class Segment:
    """A piece of text, highlighted or not; templates escape ``text`` like any other value."""

    text: str
    marked: bool = False


def segments_html(parts: Iterable[Segment]) -> SafeString:
    """Escaped text with <mark> around the highlighted parts (rendered in Python: a template loop per
    segment made the preview fragment several times slower to render)."""
    return format_html_join(
        "", "{}", ((format_html("<mark>{}</mark>", p.text) if p.marked else escape(p.text),) for p in parts)
    )


@dataclass(frozen=True)
class PreviewItem:
    paper_key: int
    url: str
    title: tuple[Segment, ...]
    snippet: tuple[Segment, ...]
    authors: tuple[str, ...]
    matched_terms: tuple[str, ...]
    interests: tuple[str, ...]
    # "like ‘Title’, from your library" (issue 17): the library paper(s) it resembles.
    library_reasons: tuple[str, ...] = ()

    @property
    def title_html(self) -> SafeString:
        return segments_html(self.title)

    @property
    def snippet_html(self) -> SafeString:
        return segments_html(self.snippet)


@dataclass(frozen=True)
class PreviewResult:
    count: int = 0
    items: tuple[PreviewItem, ...] = ()
    error: str = ""
    error_position: int | None = None
    error_where: ErrorWhere | None = None
    papers_considered: int = 0
    days: int = PREVIEW_DAYS
    # Said when the preview was cut to its budget (the digest itself is never cut).
    note: str = ""
    already_received: int = 0  # matches left out because an earlier digest had them


@dataclass(frozen=True)
class _PaperCard:
    url: str
    authors: tuple[str, ...]
    title: str


@dataclass
class _Corpus:
    signature: tuple
    index: PaperIndex
    cards: dict[int, _PaperCard] = field(default_factory=dict)
    checked_at: float = 0.0  # time.monotonic() of the last signature check
    docs: list = field(default_factory=list)
    _library_index: LibraryIndex | None = None

    def library_index(self) -> LibraryIndex:
        """The same papers for "papers like these", built on the first preview that needs it."""
        if self._library_index is None:
            self._library_index = LibraryIndex.build(self.docs)
        return self._library_index


_lock = threading.Lock()
_corpus: _Corpus | None = None
# Combined previews by (papers' signature, interests, muted words, size, papers received): page views
# and repeated keystrokes ask for the same one again.
DIGEST_CACHE_SIZE = 256
_digest_cache: OrderedDict[tuple, PreviewResult] = OrderedDict()
_rebuilding = False


def _recent(now: datetime):
    return Paper.objects.filter(
        hidden=False,
        duplicate_of__isnull=True,
        ingested_at__gt=now - timedelta(days=PREVIEW_DAYS),
        ingested_at__lte=now,
    )


def _signature(now: datetime) -> tuple:
    # Count + highest id + newest ingest + newest edit change whenever a paper enters, leaves (ages out, is hidden)
    # or is edited; one indexed aggregate, far cheaper than rebuilding the index.
    agg = _recent(now).aggregate(n=Count("id"), last=Max("id"), newest=Max("ingested_at"), edited=Max("updated_at"))
    return (agg["n"], agg["last"], agg["newest"], agg["edited"])


def _build(*, now: datetime, signature: tuple) -> _Corpus:
    docs = paper_docs_ingested_between(start=now - timedelta(days=PREVIEW_DAYS), end=now)
    cards = {
        row["id"]: _PaperCard(url=row["url"] or "", authors=tuple(row["authors"] or ()), title=row["title"])
        for row in _recent(now).values("id", "url", "authors", "title")
    }
    return _Corpus(
        signature=signature, index=PaperIndex.build(docs), cards=cards, checked_at=time.monotonic(), docs=docs
    )


def _rebuild_in_background(*, now: datetime, signature: tuple) -> None:
    global _rebuilding

    def run() -> None:
        global _corpus, _rebuilding
        try:
            fresh = _build(now=now, signature=signature)
            with _lock:
                _corpus = fresh
        except Exception:
            logger.exception("rebuilding the preview index failed; the previous one stays in use")
        finally:
            _rebuilding = False
            connection.close()  # this thread's own database connection

    with _lock:
        if _rebuilding:
            return
        _rebuilding = True
    threading.Thread(target=run, name="preview-index", daemon=True).start()


def preview_corpus(*, now: datetime | None = None) -> _Corpus:
    """The index of the last 7 days of visible papers, rebuilt only when they changed.

    Only the very first request of a process waits for the build (seconds on 5,000 papers); after an
    ingest the previous index keeps answering while a thread builds the new one."""
    global _corpus
    current = _corpus
    if current is not None and now is None and time.monotonic() - current.checked_at < RECHECK_SECONDS:
        return current
    now = now or dj_timezone.now()
    signature = _signature(now)
    with _lock:
        current = _corpus
        if current is not None and current.signature == signature:
            current.checked_at = time.monotonic()
            return current
    if current is not None and REBUILD_IN_BACKGROUND:
        current.checked_at = time.monotonic()  # no new check until the rebuild had time to land
        _rebuild_in_background(now=now, signature=signature)
        return current
    with _lock:
        if _corpus is None or _corpus.signature != signature:
            _corpus = _build(now=now, signature=signature)
        return _corpus


def preview_cache_clear() -> None:
    global _corpus
    with _lock:
        _corpus = None
        _digest_cache.clear()


def segments(text: str, spans: Iterable[Sequence[int]]) -> tuple[Segment, ...]:
    """Split ``text`` at the highlight spans (sorted, clamped, overlaps merged)."""
    merged = spans_merge(spans, len(text))
    parts: list[Segment] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            parts.append(Segment(text[cursor:start]))
        parts.append(Segment(text[start:end], marked=True))
        cursor = end
    if cursor < len(text):
        parts.append(Segment(text[cursor:]))
    return tuple(parts)


def _item(match, card: _PaperCard) -> PreviewItem:
    interests = tuple(dict.fromkeys(reason.interest for reason in match.reasons if reason.terms))
    return PreviewItem(
        paper_key=match.paper_key,
        # Only web links: a feed can't turn a title into a javascript: link.
        url=card.url if card.url.startswith(("https://", "http://")) else "",
        title=segments(card.title, match.title_spans),
        snippet=segments(match.snippet, match.snippet_spans),
        authors=card.authors[:4] + (("et al.",) if len(card.authors) > 4 else ()),
        matched_terms=tuple(match.described_terms),  # "LLM, as 'large language model'" where so found
        interests=interests,
        # A keyword interest that matched always found a word; a library reason has none.
        library_reasons=tuple(r.interest for r in match.reasons if not r.terms),
    )


def _run(
    *,
    interests: Sequence[str],
    muted: Sequence[str],
    top: int,
    exclude: frozenset[int] = frozenset(),
    library: Sequence[LibraryPaperDoc] = (),
    own: frozenset[int] = frozenset(),
) -> PreviewResult:
    corpus = preview_corpus()
    total = len(corpus.cards)
    if (not interests and not library) or not total:
        return PreviewResult(papers_considered=total)
    # Only the top few are explained (highlights and snippets are the costly part); the engine counts
    # every match on the way, which is the number the preview shows.
    excluded = exclude & corpus.cards.keys()
    matches: list = []
    count = already_received = 0
    if interests:
        # With a library, a deeper pool of keyword matches is fused with it (digest/library/combine.py).
        depth = pool_size(top) if library else top
        profile = Profile(key=0, interests=tuple(interests), muted=tuple(muted), limit=depth + len(excluded))
        stats: dict = {}
        found = match_profiles(corpus.index, [profile], strict=True, stats=stats).get(0, [])
        matches = [m for m in found if m.paper_key not in excluded]
        # Exact unless an already-received paper ranked below the ones returned (then it is over by that).
        already_received = len(found) - len(matches)
        count = stats.get("candidate_pairs", 0) - already_received
    if library:
        dropped = muted_paper_keys(corpus.index, muted) if muted else set()
        matches = digest_with_library(
            matches=matches, index=corpus.library_index(), library=library, own=own | excluded | dropped, limit=top
        )
        count = max(count, len(matches))
    items = tuple(_item(m, corpus.cards[m.paper_key]) for m in matches[:top] if m.paper_key in corpus.cards)
    return PreviewResult(count=count, items=items, papers_considered=total, already_received=already_received)


def preview_query(*, query: str, muted: Sequence[str] = (), top: int = PREVIEW_TOP) -> PreviewResult:
    """What one query would have matched over the last 7 days (the subscriber's muted words apply)."""
    text = " ".join(query.split())
    if not text:
        return PreviewResult()
    try:
        parse_query(text)
    except QueryError as err:
        return PreviewResult(error=str(err), error_position=err.position, error_where=error_where(err))
    return _run(interests=[text], muted=muted, top=top)


def _words(query: Query) -> int:
    return len(query.terms) + len(query.joins)


def preview_digest(
    *,
    interests: Sequence[str],
    muted: Sequence[str],
    max_papers: int,
    already_sent: frozenset[int] = frozenset(),
    library: Sequence[LibraryPaperDoc] = (),
    own: frozenset[int] = frozenset(),
) -> PreviewResult:
    """The next digest if it went out now: all interests together and the papers most like the
    subscriber's ``library`` (whose own papers, ``own``, are never listed), minus papers already received.

    Queries that don't parse (while being edited) are left out rather than failing the whole preview.
    The work is bounded: interests past ``PAPERBOY_PREVIEW_WORD_BUDGET`` words are left out of the
    preview (it says so); the result is reused while the papers and the subscription stay the same."""
    budget = int(getattr(settings, "PAPERBOY_PREVIEW_WORD_BUDGET", 96))
    valid: list[str] = []
    words = 0
    parsed = 0
    for query in interests:
        try:
            cost = _words(parse_query(query))
        except QueryError:
            continue
        parsed += 1
        if words + cost > budget and valid:
            continue
        valid.append(query)
        words += cost
    note = ""
    if len(valid) < parsed:
        note = (
            f"This preview covers {len(valid)} of your {parsed} interests (it searches at most {budget} words); "
            "your digest itself uses them all."
        )
    corpus = preview_corpus()
    key = (
        corpus.signature,
        tuple(valid),
        tuple(muted),
        max_papers,
        hash(already_sent),
        tuple(d.key for d in library),  # the library's papers (issue 17), and which of the day's are its own
        hash(own),
    )
    with _lock:
        cached = _digest_cache.get(key)
        if cached is not None:
            _digest_cache.move_to_end(key)
            return cached
    result = replace(
        _run(interests=valid, muted=muted, top=max_papers, exclude=already_sent, library=library, own=own), note=note
    )
    with _lock:
        _digest_cache[key] = result
        while len(_digest_cache) > DIGEST_CACHE_SIZE:
            _digest_cache.popitem(last=False)
    return result
