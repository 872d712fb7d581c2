"""The digest email: plain data in, a ready ``EmailMultiAlternatives`` out.

Pure rendering -- no SMTP, no tokens, no ORM. The delivery service builds a :class:`DigestEmail` and calls
:func:`digest_message_build`; the "view in browser" page calls :func:`digest_html_render` with
``for_browser=True`` (same templates). Two kinds share the templates: the daily/weekly digest and the
quiet-day note (``kind="quiet"``: nothing matched, here are the nearest misses). Each card may carry the
subscriber's feedback links (``DigestItem.actions``: label/URL pairs, signed elsewhere).

Speed. premailer costs ~10 ms per email, far too slow to run per subscriber. The CSS only ever depends on
the template and on the paper, so it is inlined once per template skeleton and once per paper card (cached),
with unguessable placeholders standing in for everything that varies per subscriber (highlights, "why" and
near-miss lines, feedback links). Per email we only fill
those placeholders. Each filled value is escaped exactly the way lxml (premailer's serializer) would write
it, so the result is byte-identical to running premailer on the whole email -- which the tests prove. Two
things make that hold: the stylesheet uses context-free selectors only (see ``digest.css``), and every
value is cleaned (control characters out, whitespace collapsed, URLs percent-encoded) before it reaches
either path.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import jinja2
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from markupsafe import Markup, escape
from premailer import Premailer

from digest.library.records import library_topic
from digest.mime import PreparedMime, address_encode, alternative_bytes, header_encode

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "email"

AUTHORS_SHOWN = 3
CATEGORIES_SHOWN = 4
SNIPPET_MAX_CHARS = 360
SUBJECT_MAX_CHARS = 77  # RFC 5322 recommends < 78 characters per header line
TEXT_WIDTH = 72
PREHEADER_MAX_CHARS = 140
# Gmail clips a message whose HTML exceeds ~102 KB; stay clear of it with a little headroom.
HTML_BUDGET_BYTES = 100_000
# When over budget: shorten snippets step by step, then drop the feedback links, then the snippets, then
# papers (with a "more" link). (snippet limit, keep feedback links) per step; the browser page keeps all.
_TRIM_STEPS = ((SNIPPET_MAX_CHARS, True), (240, True), (150, True), (150, False), (0, False))


# --------------------------------------------------------------------------------------------------
# The contract (the delivery code builds these)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestItem:
    paper_key: int
    title: str
    url: str  # abstract page
    pdf_url: str = ""
    hf_url: str = ""  # Hugging Face paper page, when known
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    popularity: int | None = None  # upvotes
    snippet: str = ""  # plain text, part of the abstract around the best hits
    title_spans: tuple[tuple[int, int], ...] = ()  # [start, end) spans into title to highlight
    snippet_spans: tuple[tuple[int, int], ...] = ()  # into snippet
    matched_terms: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()  # which of the subscriber's interests matched it
    suggested: bool = False  # "you might also like", labelled as such
    # Per subscriber (signed URLs differ per reader): (label, URL) pairs such as ("More like this", url).
    # Rendering knows nothing of tokens; a pair whose URL isn't http(s) is left out (a dead button misleads).
    actions: tuple[tuple[str, str], ...] = ()
    near_miss: str = ""  # quiet-day note: 'Almost matched "diffusion video": no "video"' (plain text)


@dataclass(frozen=True, slots=True)
class DigestLinks:
    unsubscribe_url: str  # signed one-click URL (RFC 8058 POST target and GET confirm page)
    manage_url: str  # preferences page
    view_url: str  # "view in browser" (signed)


@dataclass(frozen=True, slots=True)
class DigestEmail:
    recipient: str
    digest_date: date
    items: tuple[DigestItem, ...]
    interests: tuple[str, ...]  # all of the subscriber's interests (footer: why you got this)
    links: DigestLinks
    message_id: str  # full "<...@domain>" value, made by the caller, stable per delivery
    frequency: str = "daily"  # or "weekly"
    kind: str = "digest"  # or "quiet": nothing matched today; the items are the nearest misses


EMAIL_KINDS = ("digest", "quiet")


# --------------------------------------------------------------------------------------------------
# Cleaning: what reaches a template or a header is printable, single-spaced text and safe URLs
# --------------------------------------------------------------------------------------------------

# Dropped outright: bidi overrides (spoofing), zero-width marks, BOM, non-characters and lone surrogates
# (lxml rejects those). Other control characters and any whitespace become a single space.
_REMOVE = "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\ufffe\uffff"
_REMOVE_SET = frozenset(_REMOVE) | {chr(c) for c in range(0xD800, 0xE000)}
_REMOVABLE = re.compile(f"[{_REMOVE}\ud800-\udfff]")
# A stretch to replace: 2+ whitespace/control characters, one that isn't a plain space, or a space at an end.
_BAD_RUN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]{2,}|[^\S ]|[\x00-\x1f\x7f-\x9f]|\A | \Z")


def _is_space(ch: str) -> bool:
    return ch.isspace() or ch < " " or "\x7f" <= ch <= "\x9f"


def _is_clean(value: str) -> bool:
    # isprintable() is False for every control, format (bidi, zero-width) and separator character except
    # the plain space -- a superset of what cleaning changes, checked in C.
    return value.isprintable() and "  " not in value and not value.startswith(" ") and not value.endswith(" ")


def text_clean(value: str) -> str:
    """One line of printable text: control characters out, whitespace runs become one space."""
    if _is_clean(value):
        return value
    return _clean_mapped(value)[0]


def _clean_mapped(text: str) -> tuple[str, Callable[[int], int]]:
    """Clean ``text``; also return a function mapping an offset in ``text`` (0..len) to one in the result."""
    if _REMOVABLE.search(text):
        clean, newpos = _clean_per_char(text)
        return clean, newpos.__getitem__
    pieces: list[str] = []
    starts: list[int] = []
    runs: list[tuple[int, int, int]] = []  # (end, start in the result, shift after it)
    pos = shift = 0
    for match in _BAD_RUN.finditer(text):
        a, b = match.span()
        repl = "" if a == 0 or b == len(text) else " "
        pieces += (text[pos:a], repl)
        starts.append(a)
        runs.append((b, a - shift, shift + (b - a) - len(repl)))
        shift += (b - a) - len(repl)
        pos = b
    pieces.append(text[pos:])

    def newpos(p: int) -> int:
        k = bisect_right(starts, p) - 1
        if k < 0:
            return p
        end, new_start, shift_after = runs[k]
        return new_start if p < end else p - shift_after  # inside a run: where its space goes

    return "".join(pieces), newpos


def _clean_per_char(text: str) -> tuple[str, list[int]]:
    """The general (slower) cleaner, for text with characters to drop outright."""
    out: list[str] = []
    newpos = [0] * (len(text) + 1)
    pending_space = False
    for i, ch in enumerate(text):
        if ch in _REMOVE_SET:
            newpos[i] = len(out) + (1 if pending_space and out else 0)
            continue
        if _is_space(ch):
            newpos[i] = len(out)
            pending_space = True
            continue
        if pending_space and out:
            out.append(" ")
        pending_space = False
        newpos[i] = len(out)
        out.append(ch)
    newpos[len(text)] = len(out)
    return "".join(out), newpos


def _spans_normalise(spans: Iterable[tuple[int, int]], length: int) -> tuple[tuple[int, int], ...]:
    """Clip to the text, drop empty spans, sort and merge overlaps: a caller's sloppy spans never break HTML."""
    clipped = sorted((max(0, int(s)), min(length, int(e))) for s, e in spans)
    merged: list[tuple[int, int]] = []
    for s, e in clipped:
        if s >= e:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return tuple(merged)


@functools.lru_cache(maxsize=8192)
def _title_cleaned(title: str) -> tuple[str, Callable[[int], int]]:
    """Titles are per paper (often with feed line breaks): clean each once, whoever it is for."""
    return _clean_mapped(title)


def _text_spans_clean(
    text: str, spans: tuple[tuple[int, int], ...], *, is_title: bool = False
) -> tuple[str, tuple[tuple[int, int], ...]]:
    if _is_clean(text):
        return text, _spans_normalise(spans, len(text)) if spans else ()
    clean, newpos = _title_cleaned(text) if is_title else _clean_mapped(text)
    n = len(text)
    moved = ((newpos(min(max(0, int(s)), n)), newpos(min(max(0, int(e)), n))) for s, e in spans)
    return clean, _spans_normalise(moved, len(clean))


def _snippet_trim(text: str, spans: tuple[tuple[int, int], ...], limit: int) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Cut at a word boundary before ``limit`` characters (adding an ellipsis), keeping the spans that fit."""
    if len(text) <= limit:
        return text, spans
    if limit <= 0:
        return "", ()
    cut = text.rfind(" ", 0, limit)
    if cut < limit * 0.6:
        cut = limit
    kept = tuple((s, min(e, cut)) for s, e in spans if s < cut)
    return text[:cut].rstrip() + "…", kept


# Characters a URL may keep as they are; everything else is percent-encoded, so a URL can never break
# out of an attribute and lxml's serializer has nothing left to escape but "&".
_URL_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


_URL_ALREADY_SAFE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][-A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%]*)?"
)


def url_clean(url: str) -> str:
    """An absolute http(s) URL, percent-encoded; anything else (javascript:, data:, relative) becomes ""."""
    if _URL_ALREADY_SAFE.fullmatch(url):
        return url
    url = text_clean(url).replace(" ", "%20")
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return ""
    return quote(url, safe=_URL_SAFE)


# --------------------------------------------------------------------------------------------------
# Escaping the way lxml serializes HTML (text: & < >; attributes: & < > ")
# --------------------------------------------------------------------------------------------------


def _lx_text(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def _lx_attr(value: str) -> str:
    return _lx_text(value).replace('"', "&quot;")


def _trusted(html: str) -> Markup:
    """Mark HTML as safe. Only for strings assembled here from escaped pieces and our own tags or files."""
    return Markup(html)  # noqa: S704 -- every caller builds ``html`` from escaped values (see each call)


def _md_text(value: str) -> str:
    """markupsafe's escape, for the reference (premailer-on-everything) path."""
    return str(escape(value))


def _highlight(text: str, spans: tuple[tuple[int, int], ...], esc: Callable[[str], str], mark_open: str) -> Markup:
    """Escaped text with ``<mark>`` around the spans -- built from escaped pieces, never by injecting raw text."""
    if not spans:
        return _trusted(esc(text))
    out: list[str] = []
    pos = 0
    for s, e in spans:
        out.append(esc(text[pos:s]))
        out.append(mark_open)
        out.append(esc(text[s:e]))
        out.append("</mark>")
        pos = e
    out.append(esc(text[pos:]))
    return _trusted("".join(out))


@functools.lru_cache(maxsize=65536)
def _highlight_fast(text: str, spans: tuple[tuple[int, int], ...]) -> Markup:
    return _highlight(text, spans, _lx_text, _atoms()["hl"])


# --------------------------------------------------------------------------------------------------
# The view: everything the templates show, already cleaned
# --------------------------------------------------------------------------------------------------

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@functools.lru_cache(maxsize=64)
def _date_text(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True, slots=True, eq=False)
class _Paper:
    """What a card shows that depends only on the paper and the day (cleaned once, then cached).

    Compared by identity: :func:`_paper_make` is cached, so one paper on one day is one object, and the
    inlined-card cache hashes it in constant time.
    """

    digest_date: date
    paper_key: int
    url: str
    pdf_url: str
    hf_url: str
    authors: str
    meta: str
    suggested: bool


@dataclass(frozen=True, slots=True, eq=False)
class _Card:
    """One item's content, cleaned -- everything but its feedback links, which are signed per subscriber.

    Subscribers who share interests get the same title, snippet, highlights and "why" line for a paper, so
    one card serves them all (made by the cached :func:`_card_make`, compared by identity). ``memo`` holds
    its rendered pieces (HTML around the feedback row, numbered text blocks): per email, only the feedback
    links are new.
    """

    paper: _Paper
    title: str
    title_spans: tuple[tuple[int, int], ...]
    snippet: str
    snippet_spans: tuple[tuple[int, int], ...]
    why: str
    interests: tuple[str, ...]
    near_miss: str
    slots: tuple[str, ...]  # the optional slots present without feedback links (see _card_slots)
    slots_with_actions: tuple[str, ...]  # the same plus "actions"
    memo: dict[object, tuple[str, str]] = field(default_factory=dict)

    def inline_key(self, with_actions: bool) -> _CardKey:
        """The inlined-card cache key: the paper and the slots this card has."""
        return (self.paper, self.slots_with_actions if with_actions else self.slots)


@functools.cache
def _card_slots(snippet: bool, why: bool, near_miss: bool, actions: bool) -> tuple[str, ...]:
    """Which optional per-subscriber slots a card has, in template order (one shared tuple per combination)."""
    present = (("snippet", snippet), ("why", why), ("near_miss", near_miss), ("actions", actions))
    return tuple(name for name, there in present if there)


@dataclass(frozen=True, slots=True)
class _View:
    kind: str
    for_browser: bool
    cards: tuple[_Card, ...]
    actions: tuple[_Actions, ...]  # each card's feedback links (may be none)
    more: int  # papers left out to stay under the size budget
    date_text: str
    page_title: str
    headline: str
    topics: tuple[str, ...]  # matched interests, most frequent first
    interests: tuple[str, ...]
    preheader: str
    recipient: str
    frequency: str
    unsubscribe_url: str
    manage_url: str
    view_url: str
    site_url: str
    postal: str


def _authors_text(authors: tuple[str, ...]) -> str:
    names = [n for n in (text_clean(a) for a in authors) if n]
    if len(names) > AUTHORS_SHOWN:
        return ", ".join(names[:AUTHORS_SHOWN]) + " et al."
    return ", ".join(names)


def _meta_text(categories: tuple[str, ...], popularity: int | None) -> str:
    parts = [c for c in (text_clean(c) for c in categories[:CATEGORIES_SHOWN]) if c]
    if popularity is not None and popularity > 0:
        parts.append(f"▲ {_plural(int(popularity), 'upvote')}")
    return " · ".join(parts)


@functools.lru_cache(maxsize=4096)
def _texts_clean(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in (text_clean(v) for v in values) if t)


def _why_text(interests: tuple[str, ...], terms: tuple[str, ...]) -> str:
    if interests:
        return "Matches: " + ", ".join(interests)
    return "Matched words: " + ", ".join(terms) if terms else ""


class _Actions(NamedTuple):
    """One card's feedback links, cleaned and rendered for both parts in one pass (dozens per email)."""

    pairs: tuple[tuple[str, str], ...]  # (label, URL): non-empty label, absolute http(s) URL
    html: str  # the row, from the inlined link (the reference path renders ``pairs`` with Jinja2 instead)
    html_extra: int  # _utf8_extra(html), for the size budget
    text: str  # the plain-text lines, indented for the card's number


_NO_ACTIONS = _Actions((), "", 0, "")


@functools.lru_cache(maxsize=4096)
def _action_label(label: str) -> tuple[str, str, int]:
    """A label cleaned; the inlined link from the end of its URL on, the label escaped as lxml writes text;
    and the _utf8_extra of the whole link but its URL (which is ASCII once cleaned: url_clean). Labels recur
    across subscribers ("More like this", 'Mute "diffusion"'); URLs never do."""
    clean = text_clean(label)
    head, middle, tail = _action_prepared()
    html = f"{middle}{_lx_text(clean)}{tail}"
    return clean, html, _utf8_extra(head) + _utf8_extra(html)


def _actions_make(actions: Iterable[tuple[str, str]], number: int) -> _Actions:
    """A pair whose label is empty once cleaned or whose URL isn't absolute http(s) is left out.

    Written for speed (an email has dozens of links): _link_line and url_clean's fast path are inline."""
    head = _action_prepared()[0]
    indent = " " * (len(str(number)) + 2)
    pairs, html, text = [], [], []
    extra = 0
    for label, url in actions:
        label, label_html, link_extra = _action_label(label)
        if not _URL_ALREADY_SAFE.fullmatch(url):
            url = url_clean(url)
        if label and url:
            pairs.append((label, url))
            # A cleaned URL has no '<', '>' or '"' left (url_clean), so "&" is all lxml would escape in it.
            html.append(f"{head}{url.replace('&', '&amp;')}{label_html}")
            extra += link_extra
            line = f"{indent}{label}: {url}"
            text.append(line if len(line) <= TEXT_WIDTH else f"{indent}{label}:\n{indent}  {url}")
    if not pairs:
        return _NO_ACTIONS
    sep = _atoms()["sep"]
    return _Actions(tuple(pairs), sep.join(html), extra + (len(pairs) - 1) * _utf8_extra(sep), "\n".join(text))


@functools.lru_cache(maxsize=8192)
def _paper_make(
    day: date,
    paper_key: int,
    url: str,
    pdf_url: str,
    hf_url: str,
    authors: tuple[str, ...],
    categories: tuple[str, ...],
    popularity: int | None,
    suggested: bool,
) -> _Paper:
    # A URL that isn't http(s) (javascript:, relative, empty) is never linked; the card still shows.
    return _Paper(
        digest_date=day,
        paper_key=paper_key,
        url=url_clean(url),
        pdf_url=url_clean(pdf_url),
        hf_url=url_clean(hf_url),
        authors=_authors_text(authors),
        meta=_meta_text(categories, popularity),
        suggested=suggested,
    )


# Each card keeps its rendered pieces (~5 KB: the HTML around its feedback row, numbered text blocks), so
# this bounds that memory to ~100 MB per process; a day's distinct cards usually number far fewer.
@functools.lru_cache(maxsize=16384)
def _card_make(
    day: date,
    snippet_limit: int,
    paper_key: int,
    title: str,
    url: str,
    pdf_url: str,
    hf_url: str,
    authors: tuple[str, ...],
    categories: tuple[str, ...],
    popularity: int | None,
    suggested: bool,
    snippet: str,
    title_spans: tuple[tuple[int, int], ...],
    snippet_spans: tuple[tuple[int, int], ...],
    interests: tuple[str, ...],
    matched_terms: tuple[str, ...],
    near_miss: str,
) -> _Card:
    """Clean one item's content (see :func:`_card_get` for why these arguments and no others)."""
    paper = _paper_make(day, paper_key, url, pdf_url, hf_url, authors, categories, popularity, suggested)
    title, title_spans = _text_spans_clean(title, title_spans, is_title=True)
    snippet, snippet_spans = _text_spans_clean(snippet, snippet_spans)
    snippet, snippet_spans = _snippet_trim(snippet, snippet_spans, snippet_limit)
    interests = _texts_clean(interests)
    near_miss = text_clean(near_miss)
    # A near miss says which interest almost matched and what was missing: it takes the "why" line's place.
    why = "" if near_miss else _why_text(interests, _texts_clean(matched_terms))
    return _Card(
        paper=paper,
        title=title or "(untitled)",
        title_spans=title_spans if title else (),
        snippet=snippet,
        snippet_spans=snippet_spans,
        why=why,
        interests=interests,
        near_miss=near_miss,
        slots=_card_slots(bool(snippet), bool(why), bool(near_miss), False),
        slots_with_actions=_card_slots(bool(snippet), bool(why), bool(near_miss), True),
    )


def _card_args(item: DigestItem, day: date, snippet_limit: int) -> tuple:
    """:func:`_card_make`'s arguments: what the card shows, so subscribers who share interests share a card.

    Left out: the feedback links (signed per subscriber; each email adds its own) and the matched words
    when the "why" line names interests instead (the subscriber's other words don't show).
    """
    return (
        day,
        snippet_limit,
        item.paper_key,
        item.title,
        item.url,
        item.pdf_url,
        item.hf_url,
        item.authors,
        item.categories,
        item.popularity,
        item.suggested,
        item.snippet,
        item.title_spans,
        item.snippet_spans,
        item.interests,
        () if _texts_clean(item.interests) else item.matched_terms,
        item.near_miss,
    )


def _card_get(item: DigestItem, day: date, snippet_limit: int) -> _Card:
    try:
        return _card_make(*_card_args(item, day, snippet_limit))
    except TypeError:  # unhashable: a caller passed lists where the contract says tuples
        fixed = replace(
            item,
            authors=tuple(item.authors),
            categories=tuple(item.categories),
            title_spans=tuple(map(tuple, item.title_spans)),
            snippet_spans=tuple(map(tuple, item.snippet_spans)),
            matched_terms=tuple(item.matched_terms),
            interests=tuple(item.interests),
        )
        return _card_make(*_card_args(fixed, day, snippet_limit))


@functools.lru_cache(maxsize=65536)
def _topics_rank(cards: tuple[_Card, ...], interests: tuple[str, ...]) -> tuple[str, ...]:
    """The interests that matched today, most papers first (ties: the subscriber's own order)."""
    counts: dict[str, int] = {}
    for card in cards:
        # Papers like the subscriber's library are one topic, however many library papers they resemble.
        for topic in dict.fromkeys(library_topic(t) for t in card.interests):
            counts[topic] = counts.get(topic, 0) + 1
    order = {t: n for n, t in enumerate(interests)}
    return tuple(sorted(counts, key=lambda t: (-counts[t], order.get(t, len(order)), t)))


def _link_required(url: str, name: str) -> str:
    clean = url_clean(url)
    if not clean:
        raise ValueError(f"DigestLinks.{name} must be an absolute http(s) URL, got {url!r}")
    return clean


def _view_make(
    email: DigestEmail,
    *,
    for_browser: bool = False,
    snippet_limit: int = SNIPPET_MAX_CHARS,
    max_cards: int | None = None,
    with_actions: bool = True,
) -> _View:
    if email.kind not in EMAIL_KINDS:
        raise ValueError(f"DigestEmail.kind must be one of {EMAIL_KINDS}, got {email.kind!r}")
    items = email.items if max_cards is None else email.items[:max_cards]
    day = email.digest_date
    cards = tuple([_card_get(i, day, snippet_limit) for i in items])
    actions = tuple(
        [_actions_make(i.actions, n) if with_actions and i.actions else _NO_ACTIONS for n, i in enumerate(items, 1)]
    )
    count = len(email.items)
    weekly = email.frequency == "weekly"
    quiet = email.kind == "quiet"
    if quiet:
        headline = f"Nothing new matched your interests {'this week' if weekly else 'today'}"
    elif count == 0:
        headline = "No new papers matched your interests"
    elif weekly:
        headline = f"{_plural(count, 'paper')} from this week"
    else:
        headline = f"{_plural(count, 'new paper')} for you"
    date_text = _date_text(day)
    preheader = " · ".join([c.title for c in cards[:3]])
    if quiet:
        preheader = f"Nothing matched. Nearest: {preheader}" if preheader else "Nothing matched your interests."
    if len(preheader) > PREHEADER_MAX_CHARS:  # cut at a word, inbox previews show ~100 characters anyway
        cut = preheader.rfind(" ", 0, PREHEADER_MAX_CHARS)
        preheader = preheader[: cut if cut > PREHEADER_MAX_CHARS // 2 else PREHEADER_MAX_CHARS - 1].rstrip(" ·") + "…"
    interests = _texts_clean(email.interests)
    all_cards = cards if max_cards is None else tuple([_card_get(i, day, 0) for i in email.items])
    return _View(
        kind=email.kind,
        for_browser=for_browser,
        cards=cards,
        actions=actions,
        more=count - len(cards),
        date_text=date_text,
        page_title=f"Paperboy · {date_text}",
        headline=headline,
        topics=_topics_rank(all_cards, interests),
        interests=interests,
        preheader=preheader,
        recipient=text_clean(email.recipient),
        frequency="weekly" if weekly else "daily",
        unsubscribe_url=_link_required(email.links.unsubscribe_url, "unsubscribe_url"),
        manage_url=_link_required(email.links.manage_url, "manage_url"),
        view_url=_link_required(email.links.view_url, "view_url"),
        site_url=url_clean(settings.SITE_URL) or "http://localhost/",
        postal=text_clean(settings.PAPERBOY_POSTAL_ADDRESS),
    )


def _topics_html(topics: Iterable[str], esc: Callable[[str], str], span_open: str) -> str:
    return ", ".join([f"{span_open}{esc(t)}</span>" for t in topics])


def _quiet_intro(count: int) -> str:
    if not count:
        return "Nothing came close either."
    if count == 1:
        return "The nearest miss: a paper that almost matched, and what it was missing."
    return f"The {count} nearest misses: papers that almost matched, and what each was missing."


def _quiet_days(frequency: str) -> str:
    return "weeks" if frequency == "weekly" else "days"


def _skeleton_values(view: _View, esc: Callable[[str], str], topic_open: str) -> dict[str, object]:
    """Per-email values of the page around the cards: text, URLs, and Markup built from ``esc``-escaped pieces.

    (Not Markup.format: markupsafe escapes quotes, lxml doesn't, and the two paths must agree byte for byte.)
    """
    if view.kind == "quiet":
        matched = _quiet_intro(len(view.cards) + view.more)  # plain text: each path escapes it its own way
        why = _trusted(
            f"You get this note at {esc(view.recipient)} on {esc(_quiet_days(view.frequency))} when nothing matches "
            f"{_topics_html(view.interests, esc, topic_open)}, because you asked for quiet-day notes. "
            "Turn them off under Manage preferences."
        )
    else:
        matched = (
            _trusted("Matched your interests: " + _topics_html(view.topics, esc, topic_open)) if view.topics else ""
        )
        why = _trusted(
            f"You get this {esc(view.frequency)} digest at {esc(view.recipient)} because you follow "
            f"{_topics_html(view.interests, esc, topic_open)} on Paperboy."
        )
    return {
        "page_title": view.page_title,
        "preheader": view.preheader,
        "site_url": view.site_url,
        "date_text": view.date_text,
        "headline": view.headline,
        "matched_html": matched,
        "why_html": why,
        "manage_url": view.manage_url,
        "view_url": view.view_url,
        "unsubscribe_url": view.unsubscribe_url,
        "postal": view.postal,
        "more_text": (
            f"…and {view.more} more near {'miss' if view.more == 1 else 'misses'}: open the note in your browser"
            if view.kind == "quiet"
            else f"…and {_plural(view.more, 'more paper')}: open the full digest in your browser"
        ),
    }


# --------------------------------------------------------------------------------------------------
# Templates, premailer, and the caches
# --------------------------------------------------------------------------------------------------


@functools.cache
def _env() -> jinja2.Environment:
    # Autoescape is on for every HTML template (and for strings); only the .txt templates (plain-text part,
    # subject) render unescaped, because they are not HTML.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


@functools.cache
def _css() -> Markup:
    return _trusted((TEMPLATE_DIR / "digest.css").read_text(encoding="utf-8"))


def premailer_inline(html: str) -> str:
    """premailer with our options: no network, media queries and :hover kept in <style>, !important kept."""
    return Premailer(
        html,
        allow_network=False,
        allow_loading_external_files=False,
        keep_style_tags=False,  # leftovers only: @media and :hover stay, the inlined rules don't repeat
        strip_important=False,  # dark-mode overrides need !important to beat inline styles
        remove_classes=False,  # media queries target the classes
        cssutils_logging_level=logging.CRITICAL,
    ).transform(pretty_print=False)


# Placeholders: random per process so no paper text can ever collide with one.
_TOKEN = f"zq9{secrets.token_hex(6)}9qz"
_SLOT_RE = re.compile(f"{_TOKEN}([a-z_]+){_TOKEN}")


@functools.cache  # one object per name: slots are made per card and searched for in every filled one
def _slot(name: str) -> Markup:
    return _trusted(f"{_TOKEN}{name}{_TOKEN}")


class _Prepared:
    """A rendered template with placeholders, split once into static chunks; filling it is a join.

    HTML (``html=True``): a slot inside a tag is an attribute value, anywhere else it is text; each value is
    escaped for its place exactly as lxml writes it, and Markup (already escaped) goes in as it is -- in text
    slots only. Plain text (``html=False``): values go in as they are.
    """

    __slots__ = ("extra", "head", "plan")

    def __init__(self, source: str, expected: Iterable[str], *, html: bool) -> None:
        parts = _SLOT_RE.split(source)
        chunks = parts[0::2]
        names = parts[1::2]
        if sorted(names) != sorted(expected):
            raise RuntimeError(f"prepared template slots {sorted(names)} != expected {sorted(expected)}")
        self.head = chunks[0]
        self.extra = sum(map(_utf8_extra, chunks))  # of the static text
        # (slot name, 0 = plain / 1 = HTML text / 2 = HTML attribute, static chunk that follows)
        plan = []
        in_tag = False  # carried over chunks without "<" or ">", e.g. between two attributes of one tag
        for name, before, after in zip(names, chunks[:-1], chunks[1:], strict=True):
            opened, closed = before.rfind("<"), before.rfind(">")
            if opened != closed:
                in_tag = opened > closed
            plan.append((name, (2 if in_tag else 1) if html else 0, after))
        self.plan = tuple(plan)

    def utf8_extra(self, values: Mapping[str, object]) -> int:
        """``_utf8_extra(self.fill(values))`` without the filled text: escaping only ever swaps ASCII for
        ASCII, so it is the static text's plus each value's. _Pieces values are the caller's to add."""
        extra = self.extra
        for name, _kind, _chunk in self.plan:
            value = values[name]
            if not isinstance(value, _Pieces):
                extra += _utf8_extra(value)  # type: ignore[arg-type]
        return extra

    def fill(self, values: Mapping[str, object]) -> str:
        out: list[str] = []
        self.fill_into(out, values)
        return "".join(out)

    def fill_into(self, out: list[str], values: Mapping[str, object]) -> None:
        """Append the pieces to ``out`` (one join at the very end keeps copying of a 25 KB email to one)."""
        out.append(self.head)
        for name, kind, chunk in self.plan:
            value = values[name]
            if kind == 1:
                if isinstance(value, _Pieces):
                    out.extend(value)
                elif isinstance(value, Markup):
                    out.append(value)
                else:
                    out.append(_lx_text(value))  # type: ignore[arg-type]
            elif kind == 2:
                if isinstance(value, Markup | _Pieces):
                    raise TypeError(f"slot {name!r} is an attribute value: pass plain text")
                out.append(_lx_attr(value))  # type: ignore[arg-type]
            else:
                out.append(value)  # type: ignore[arg-type]
            out.append(chunk)


class _Pieces(list):
    """Already-escaped HTML pieces (filled cards) for a text slot; extended into the output, never re-copied."""

    __slots__ = ()


@functools.cache
def _atoms() -> dict[str, str]:
    """The inlined opening tags of the elements built in Python (highlight, topic), from one premailer run."""
    probe = (
        f'<html><head><style>{_css()}</style></head><body><p><mark class="hl">x</mark>'
        f'<span class="topic">x</span></p><p class="actions">{_action_render(_slot("url"), _slot("label"))}'
        f"{_ACTION_SEP}</p></body></html>"
    )
    out = premailer_inline(probe)
    mark = re.search(r'<mark class="hl"[^>]*>', out)
    topic = re.search(r'<span class="topic"[^>]*>', out)
    action = re.search(r'<a class="action"[^>]*>[^<]*</a>', out)
    sep = re.search(r'\n<span class="sep"[^>]*>·</span> ', out)
    if not mark or not topic or not action or not sep:
        raise RuntimeError("premailer dropped the highlight, topic, action or separator element")
    return {"hl": mark.group(0), "topic": topic.group(0), "action": action.group(0), "sep": sep.group(0)}


# Between two feedback links; the same string in the template-rendered path and (inlined) in the fast one.
# The newline keeps each link on a line of its own: a row of eight signed links on one line is over
# SMTP's 998-byte limit, which would force the whole HTML part into quoted-printable (a third larger).
_ACTION_SEP = '\n<span class="sep">·</span> '


def _action_render(url: str, label: str) -> str:
    """One feedback link from ``_action.html`` (autoescaped; slot Markup goes in as it is)."""
    return _env().get_template("_action.html").render(url=url, label=label)


def _actions_html_raw(actions: tuple[tuple[str, str], ...]) -> Markup:
    """The row of feedback links for the reference path: Jinja2-escaped, premailer inlines it later."""
    return _trusted(_ACTION_SEP.join([_action_render(url, label) for label, url in actions]))


@functools.cache
def _action_prepared() -> tuple[str, str, str]:
    """The inlined feedback link split around its URL (an attribute) and its label (text)."""
    parts = _SLOT_RE.split(_atoms()["action"])
    if parts[1::2] != ["url", "label"] or not parts[0].endswith('href="') or not parts[2].endswith(">"):
        raise RuntimeError(f"unexpected inlined feedback link: {_atoms()['action']!r}")
    return parts[0], parts[2], parts[4]


_SKELETON_SLOTS = (
    "page_title",
    "preheader",
    "site_url",
    "date_text",
    "headline",
    "matched_html",
    "why_html",
    "manage_url",
    "view_url",
    "unsubscribe_url",
    "postal",
    "more_text",
)


@functools.cache
def _skeleton(for_browser: bool, has_more: bool, has_cards: bool = True) -> _Prepared:
    """The page around the cards, inlined once per process (per variant; no cards: the loop's lines go too)."""
    values: dict[str, object] = {name: _slot(name) for name in _SKELETON_SLOTS}
    html = (
        _env()
        .get_template("digest.html")
        .render(
            css=_css(),
            for_browser=for_browser,
            has_more=has_more,
            cards=[_slot("cards")] if has_cards else [],
            **values,
        )
    )
    expected = [n for n in (*_SKELETON_SLOTS, "cards") for _ in range(html.count(_slot(n)))]
    return _Prepared(premailer_inline(html), expected, html=True)


# (paper, the optional per-subscriber slots it has -- see _Card.slots): one inlined card each
_CardKey = tuple[_Paper, tuple[str, ...]]
_CARD_SLOTS = ("title", "snippet", "why", "near_miss", "actions")  # "title" is always there
CARD_BATCH = 50  # cards inlined per premailer run (one run over many cards is far cheaper than many runs)
CARDS_CACHED = 8192


class _CardCache:
    """LRU of inlined cards. Filled in batches, which functools.lru_cache can't do."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[_CardKey, _Prepared] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = self.premailer_runs = 0

    def get_many(self, keys: list[_CardKey]) -> list[_Prepared]:
        with self.lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self.data]
        for start in range(0, len(missing), CARD_BATCH):
            batch = missing[start : start + CARD_BATCH]
            inlined = _cards_inline(batch)  # outside the lock: premailer is slow
            with self.lock:
                self.premailer_runs += 1
                self.data.update(zip(batch, inlined, strict=True))
                while len(self.data) > self.maxsize:
                    self.data.popitem(last=False)
        with self.lock:
            self.misses += len(missing)
            self.hits += len(keys) - len(missing)
            out = []
            for key in keys:
                found = self.data.get(key)
                if found is None:  # evicted by a concurrent batch: make it again, alone
                    found = _cards_inline([key])[0]
                    self.data[key] = found
                self.data.move_to_end(key)
                out.append(found)
            return out

    def cache_clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.hits = self.misses = self.premailer_runs = 0


_CARDS = _CardCache(CARDS_CACHED)


def _card_marker(n: int, closing: bool = False) -> str:
    return f"<!--{'/' if closing else ''}pbcard{n}-->"


def _cards_inline(keys: list[_CardKey]) -> list[_Prepared]:
    """Inline several papers' cards with one premailer run and split them apart again."""
    template = _env().get_template("_card.html")
    cards = []
    for n, (paper, slots) in enumerate(keys):
        card = template.render(
            title_html=_slot("title"),
            snippet_html=_slot("snippet") if "snippet" in slots else "",
            why=_slot("why") if "why" in slots else "",
            near_miss=_slot("near_miss") if "near_miss" in slots else "",
            actions_html=_slot("actions") if "actions" in slots else "",
            **_paper_values(paper, slots),
        )
        cards.append(f"{_card_marker(n)}{card}{_card_marker(n, closing=True)}")
    # Same surroundings as in the email, so the parser sees each card exactly as it does there.
    probe = (
        f"<html><head><style>{_css()}</style></head><body><table><tr>"
        f'<td class="ff cards">{chr(10).join(cards)}</td></tr></table></body></html>'
    )
    out = premailer_inline(probe)
    prepared = []
    for n, (_paper, slots) in enumerate(keys):
        start = out.index(_card_marker(n)) + len(_card_marker(n))
        inner = out[start : out.index(_card_marker(n, closing=True), start)]
        expected = ["title", *slots]
        prepared.append(_Prepared(inner, expected, html=True))
    return prepared


def email_cards_warm(emails: Iterable[DigestEmail]) -> int:
    """Inline every card these emails need, in a few premailer runs; returns how many were new.

    Optional: rendering inlines missing cards itself (per email). A worker about to send a chunk can call
    this first so the day's papers cost one premailer run per 50 cards instead of one per email's batch.
    """
    # Only the cards' keys are needed: no view (its per-subscriber feedback links are most of its cost).
    # A card whose links all turn out unusable has another key; rendering inlines that one itself.
    keys = [
        _card_get(item, email.digest_date, SNIPPET_MAX_CHARS).inline_key(bool(item.actions))
        for email in emails
        for item in email.items
    ]
    before = _CARDS.misses
    _CARDS.get_many(keys)
    return _CARDS.misses - before


def _paper_values(paper: _Paper, slots: tuple[str, ...]) -> dict[str, object]:
    return {
        "url": paper.url,
        "pdf_url": paper.pdf_url,
        "hf_url": paper.hf_url,
        "authors": paper.authors,
        "meta": paper.meta,
        "suggested": paper.suggested,
        "has_snippet": "snippet" in slots,
        "has_why": "why" in slots,
        "has_near_miss": "near_miss" in slots,
        "has_actions": "actions" in slots,
    }


def email_caches_clear_per_subscriber() -> None:
    """Forget what depends on the readers (benchmarks: a new day for the subscribers, same papers).

    The shared cards go too: which (paper, snippet, highlights, interests) combinations exist depends on
    who reads, so a benchmark pass must build them again, once per combination, as a real day does.
    """
    for cached in (_card_make, _highlight_fast, _topics_rank, _wrap, _action_label):  # not per paper
        cached.cache_clear()


def email_caches_clear() -> None:
    """Forget every inlined template and card (tests; a long-lived process after a template change)."""
    for cached in (
        _env,
        _css,
        _atoms,
        _action_prepared,
        _action_label,
        _skeleton,
        _paper_make,
        _card_make,
        _CARDS,
        _highlight_fast,
        _texts_clean,
        _title_cleaned,
        _topics_rank,
        _date_text,
        _wrap,
        _text_card_prepared,
        _text_paper,
        _text_skeleton,
        _subject_make,
        _quiet_subject_make,
        _card_slots,
    ):
        cached.cache_clear()


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------


def _cards_html(view: _View) -> list[tuple[str, str, int]]:
    """Each card's HTML around its feedback row (the row's slot; without links the whole card, then ""), and
    the _utf8_extra of the two.

    Made once per shared card and kept on it (``memo``); the inlined cards missing are made in one batch.
    """
    wanted = [(card, bool(actions.pairs)) for card, actions in zip(view.cards, view.actions, strict=True)]
    try:
        return [card.memo[with_actions] for card, with_actions in wanted]
    except KeyError:
        pass
    missing = [(card, with_actions) for card, with_actions in wanted if with_actions not in card.memo]
    inlined = _CARDS.get_many([card.inline_key(with_actions) for card, with_actions in missing])
    for (card, with_actions), prepared in zip(missing, inlined, strict=True):
        filled = prepared.fill(
            {
                "title": _highlight_fast(card.title, card.title_spans),
                "snippet": _highlight_fast(card.snippet, card.snippet_spans),
                "why": card.why,
                "near_miss": card.near_miss,
                "actions": _slot("actions"),  # Markup: goes in as it is, to split on
            }
        )
        before, _, after = filled.partition(_slot("actions"))
        card.memo[with_actions] = (before, after, _utf8_extra(before) + _utf8_extra(after))
    return [card.memo[with_actions] for card, with_actions in wanted]


def _html_fast(view: _View) -> tuple[str, int]:
    """The HTML, and its size in UTF-8 bytes summed from its pieces' (encoding ~40 KB to measure it costs
    more than assembling it)."""
    cards = _Pieces()
    extra = 0
    for n, ((before, after, card_extra), actions) in enumerate(zip(_cards_html(view), view.actions, strict=True)):
        if n:
            cards.append("\n")  # what the template's loop puts between cards
        if actions.pairs:
            cards += (before, actions.html, after)
            extra += card_extra + actions.html_extra
        else:
            cards.append(before)
            extra += card_extra
    values = _skeleton_values(view, _lx_text, _atoms()["topic"])
    values["cards"] = cards
    skeleton = _skeleton(view.for_browser, view.more > 0, bool(view.cards))
    html = skeleton.fill(values)
    return html, len(html) + extra + skeleton.utf8_extra(values)


def _html_raw(view: _View) -> str:
    """The whole email rendered by Jinja2 alone, not yet inlined (the reference path)."""
    env = _env()
    card_template = env.get_template("_card.html")
    mark_open = '<mark class="hl">'
    cards = [
        _trusted(
            card_template.render(
                title_html=_highlight(c.title, c.title_spans, _md_text, mark_open),
                snippet_html=_highlight(c.snippet, c.snippet_spans, _md_text, mark_open),
                why=c.why,
                near_miss=c.near_miss,
                actions_html=_actions_html_raw(actions.pairs),
                **_paper_values(c.paper, c.inline_key(bool(actions.pairs))[1]),
            )
        )
        for c, actions in zip(view.cards, view.actions, strict=True)
    ]
    values = _skeleton_values(view, _md_text, '<span class="topic">')
    return env.get_template("digest.html").render(
        css=_css(), for_browser=view.for_browser, has_more=view.more > 0, cards=cards, **values
    )


def _utf8_extra(text: str) -> int:
    """UTF-8 bytes beyond one per character (what ``len`` misses); 0 for ASCII, which ``isascii`` knows in O(1)."""
    return 0 if text.isascii() else len(text.encode()) - len(text)


def _with_size(html: str) -> tuple[str, int]:
    return html, len(html.encode())


def _html_budgeted(
    email: DigestEmail,
    *,
    for_browser: bool,
    render: Callable[[_View], tuple[str, int]],
    first: _View | None = None,
) -> str:
    """Render (``render``: the HTML and its UTF-8 size); if Gmail would clip it, shorten snippets, drop
    feedback links, leave papers out."""
    if for_browser:  # a web page has no size limit
        return render(_view_make(email, for_browser=True))[0]
    html, size = render(first or _view_make(email))
    if size <= HTML_BUDGET_BYTES:
        return html
    for limit, with_actions in _TRIM_STEPS[1:]:
        html, size = render(_view_make(email, snippet_limit=limit, with_actions=with_actions))
        if size <= HTML_BUDGET_BYTES:
            return html
    max_cards = len(email.items)
    while max_cards > 1:
        max_cards = max(1, int(max_cards * 0.8))
        html, size = render(_view_make(email, snippet_limit=0, max_cards=max_cards, with_actions=False))
        if size <= HTML_BUDGET_BYTES:
            break
    return html


def digest_html_render(email: DigestEmail, *, for_browser: bool = False) -> str:
    """The HTML part (or the "view in browser" page), CSS inlined, from the per-template/per-card caches."""
    return _html_budgeted(email, for_browser=for_browser, render=_html_fast)


def digest_html_render_uncached(email: DigestEmail, *, for_browser: bool = False) -> str:
    """The same HTML by running premailer on the whole email: the reference the fast path must equal."""
    return _html_budgeted(
        email, for_browser=for_browser, render=lambda view: _with_size(premailer_inline(_html_raw(view)))
    )


# --------------------------------------------------------------------------------------------------
# Plain text
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _wrap_re(room: int) -> re.Pattern[str]:
    # The longest run of at most ``room`` characters that ends before a space (or the end); else one
    # over-long word on its own. Cleaned text has single spaces only, so this is greedy word wrapping.
    return re.compile(rf"(.{{1,{room}}})(?: |$)|(\S+)(?: |$)")


@functools.lru_cache(maxsize=65536)
def _wrap(text: str, first: str = "", rest: str = "", width: int = TEXT_WIDTH) -> str:
    """Greedy word wrap; a word longer than the line (a URL) gets a line of its own, never broken."""
    if len(first) == len(rest) and _is_clean(text):  # the fast way (every caller's case), in C
        lines = [a or b for a, b in _wrap_re(max(1, width - len(rest))).findall(text)]
        if not lines:
            return first
        return first + f"\n{rest}".join(lines)
    return _wrap_words(text, first, rest, width)


def _wrap_words(text: str, first: str, rest: str, width: int) -> str:
    lines: list[str] = []
    line = first
    bare = True  # nothing but the indent on this line yet
    for word in text.split():
        if bare:
            line += word
            bare = False
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = rest + word
    lines.append(line)
    return "\n".join(lines)


def _link_line(label: str, url: str, indent: str = "") -> str:
    # (_actions_make has this inline, for speed.)
    one = f"{indent}{label}: {url}"
    return one if len(one) <= TEXT_WIDTH else f"{indent}{label}:\n{indent}  {url}"


_TEXT_CARD_SLOTS = (
    "title_block",
    "authors_block",
    "meta_block",
    "snippet_block",
    "why_block",
    "near_miss_block",
    "links_block",
    "actions_block",
)


@functools.cache
def _text_card_prepared(present: frozenset[str]) -> _Prepared:
    """The plain-text card with the blocks in ``present`` as slots (the title is always there)."""
    values = {name: _slot(name) if name == "title_block" or name in present else "" for name in _TEXT_CARD_SLOTS}
    text = _env().get_template("_card.txt").render(values)
    return _Prepared(text, [n for n in _TEXT_CARD_SLOTS if _slot(n) in text], html=False)


@functools.lru_cache(maxsize=8192)
def _text_paper(paper: _Paper, indent: str) -> tuple[str, str, str]:
    """The parts of a plain-text paper that don't depend on the subscriber: authors, meta line, links."""
    links = [_link_line("Abstract", paper.url, indent)] if paper.url else []
    if paper.pdf_url:
        links.append(_link_line("PDF", paper.pdf_url, indent))
    if paper.hf_url:
        links.append(_link_line("Hugging Face", paper.hf_url, indent))
    meta = " · ".join(part for part in ("You might also like" if paper.suggested else "", paper.meta) if part)
    authors = _wrap(paper.authors, indent, indent) if paper.authors else ""
    return authors, _wrap(meta, indent, indent) if meta else "", "\n".join(links)


def _text_card_blocks(card: _Card, digits: int, with_actions: bool) -> tuple[str, str]:
    """A plain-text paper around its feedback lines (a slot; without links the whole paper, then "").

    Numbered with ``digits`` zeros, which the caller overwrites with the number: the wrapping depends on the
    number's width only, so one card serves papers 1-9 and another 10-99. Kept on the card.
    """
    indent = " " * (digits + 2)
    authors, meta, links = _text_paper(card.paper, indent)
    blocks = {
        "title_block": _wrap(card.title, "0" * digits + ". ", indent),
        "authors_block": authors,
        "meta_block": meta,
        "snippet_block": _wrap(card.snippet, indent, indent) if card.snippet else "",
        "why_block": _wrap(card.why, indent, indent) if card.why else "",
        "near_miss_block": _wrap(card.near_miss, indent, indent) if card.near_miss else "",
        "links_block": links,
        "actions_block": _slot("actions_block") if with_actions else "",
    }
    prepared = _text_card_prepared(frozenset(name for name, block in blocks.items() if block))
    before, _, after = prepared.fill(blocks).partition(_slot("actions_block"))
    return before if with_actions else before.rstrip("\n"), after.rstrip("\n")


def _text_card(card: _Card, number: int, actions: _Actions) -> str:
    """One numbered paper in the plain-text part (the caller puts one blank line between papers)."""
    digits = len(str(number))
    key = (digits, bool(actions.pairs))
    blocks = card.memo.get(key)
    if blocks is None:
        blocks = card.memo[key] = _text_card_blocks(card, digits, bool(actions.pairs))
    numbered = f"{number}{blocks[0][digits:]}"
    return f"{numbered}{actions.text}{blocks[1]}" if actions.pairs else numbered


_TEXT_SLOTS = ("date_text", "headline", "matched_text", "cards", "why_text", "links", "postal")


@functools.cache
def _text_skeleton(has_matched: bool) -> _Prepared:
    values = {name: _slot(name) for name in _TEXT_SLOTS}
    text = _env().get_template("digest.txt").render(has_matched=has_matched, **values) + "\n"
    return _Prepared(text, [n for n in _TEXT_SLOTS if _slot(n) in text], html=False)


def _text_fast(view: _View) -> str:
    if view.kind == "quiet":
        matched = _quiet_intro(len(view.cards) + view.more)
        why = (
            f"You get this note at {view.recipient} on {_quiet_days(view.frequency)} when nothing matches "
            f"{', '.join(view.interests)}, because you asked for quiet-day notes. Turn them off under "
            "Manage preferences."
        )
    else:
        matched = "Matched your interests: " + ", ".join(view.topics) if view.topics else ""
        why = (
            f"You get this {view.frequency} digest at {view.recipient} because you follow "
            f"{', '.join(view.interests)} on Paperboy."
        )
    links = "\n".join(
        [
            _link_line("Manage preferences", view.manage_url),
            _link_line("View in browser", view.view_url),
            _link_line("Unsubscribe", view.unsubscribe_url),
        ]
    )
    return _text_skeleton(bool(matched)).fill(
        {
            "date_text": view.date_text,
            "headline": view.headline,
            "matched_text": _wrap(matched),
            "cards": "\n\n".join(
                [
                    _text_card(card, n, actions)
                    for n, (card, actions) in enumerate(zip(view.cards, view.actions, strict=True), start=1)
                ]
            ),
            "why_text": _wrap(why),
            "links": links,
            "postal": _wrap(view.postal),
        }
    )


def digest_text_render(email: DigestEmail) -> str:
    """The plain-text part: a good email on its own, wrapped at 72 columns, papers numbered, links listed."""
    return _text_fast(_view_make(email))


# --------------------------------------------------------------------------------------------------
# Subject and message
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _quiet_subject_make(count: int, frequency: str) -> str:
    """ "No new matches today — 3 near misses": short and fixed, no feed text at all."""
    subject = _env().get_template("quiet_subject.txt").render(count=count, frequency=frequency)
    return text_clean(subject)[:SUBJECT_MAX_CHARS]


@functools.lru_cache(maxsize=4096)
def _subject_make(count: int, topics: tuple[str, ...], frequency: str) -> str:
    template = _env().get_template("digest_subject.txt")

    def render(shown: str) -> str:
        return text_clean(template.render(count=count, topics=shown, frequency=frequency))

    for k in range(len(topics), 0, -1):
        shown = ", ".join(topics[:k]) + (f" +{len(topics) - k} more" if k < len(topics) else "")
        subject = render(shown)
        if len(subject) <= SUBJECT_MAX_CHARS:
            return subject
    subject = render(topics[0] if topics else "")
    return subject if len(subject) <= SUBJECT_MAX_CHARS else subject[: SUBJECT_MAX_CHARS - 1].rstrip() + "…"


def _subject_fast(view: _View, count: int) -> str:
    if view.kind == "quiet":
        return _quiet_subject_make(count, view.frequency)
    return _subject_make(count, view.topics or view.interests, view.frequency)


def digest_subject_render(email: DigestEmail) -> str:
    """Count and top interests, one line, no control characters, under 78 characters."""
    # No feedback links: the subject never shows them, and rendering them is most of a view's cost.
    return _subject_fast(_view_make(email, with_actions=False), len(email.items))


_MESSAGE_ID_RE = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")


@functools.lru_cache(maxsize=4)
def _date_header(now: datetime) -> str:
    return format_datetime(now)  # one formatting per second, not per email


@functools.lru_cache(maxsize=8)
def _from_header(setting: str) -> str:
    """DEFAULT_FROM_EMAIL, given the display name "Paperboy" when it has none."""
    value = text_clean(setting)
    name, address = parseaddr(value)
    return value if name else formataddr(("Paperboy", address))


class DigestMessage(EmailMultiAlternatives):
    """A digest as Django's email object (subject, body, the HTML alternative, headers), whose MIME
    form is written by :mod:`digest.mime` instead of Python's ``email`` package (a tenth of the cost).

    ``from_email`` is the envelope sender (a VERP bounce address in production); the visible From
    is ``extra_headers["From"]`` when set. Any Django backend can send it (``message()``); the
    delivery service writes ``mime_bytes`` to the SMTP connection itself, with BODY=8BITMIME.
    """

    def mime_bytes(self, *, allow_8bit: bool = True) -> bytes:
        visible_from = self.extra_headers.get("From", self.from_email)
        headers = [
            ("From", address_encode(visible_from)),
            ("To", ", ".join(address_encode(address) for address in self.to)),
            ("Subject", header_encode(self.subject)),
            *((name, header_encode(value)) for name, value in self.extra_headers.items() if name != "From"),
        ]
        html = self.alternatives[0][0] if self.alternatives else None
        return alternative_bytes(headers=headers, text=self.body, html=html, allow_8bit=allow_8bit)

    def message(self, *args: object, **kwargs: object) -> PreparedMime:  # type: ignore[override]
        return PreparedMime(self.mime_bytes())


def digest_message_build(email: DigestEmail, *, connection=None) -> DigestMessage:
    """multipart/alternative (text first, then HTML) with the headers bulk senders need (RFC 2369, RFC 8058)."""
    if not _MESSAGE_ID_RE.fullmatch(email.message_id):
        raise ValueError(f"message_id must look like '<id@domain>', got {email.message_id!r}")
    if text_clean(email.recipient) != email.recipient or "@" not in email.recipient:
        raise ValueError(f"recipient is not a plain email address: {email.recipient!r}")
    view = _view_make(email)  # one view for all three parts
    headers = {
        "Message-ID": email.message_id,
        "Date": _date_header(timezone.now().replace(microsecond=0)),
        "List-Id": text_clean(settings.PAPERBOY_LIST_ID),
        "List-Unsubscribe": f"<{view.unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    message = DigestMessage(
        subject=_subject_fast(view, len(email.items)),
        body=_text_fast(view),
        from_email=_from_header(settings.DEFAULT_FROM_EMAIL),
        to=[email.recipient],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(_html_budgeted(email, for_browser=False, render=_html_fast, first=view), "text/html")
    return message
