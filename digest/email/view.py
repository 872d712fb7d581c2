"""The view: everything the templates show, cleaned, shaped once per email and shared by both parts.

A card (:class:`Card`) is one item's content without its feedback links. Subscribers who share interests
get the same title, snippet, highlights and "why" line for a paper, so one card serves them all: it is made
by the cached :func:`card_make` from a :class:`CardKey` -- what the card shows and nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

from django.conf import settings

from digest.email import wording
from digest.email.actions import NO_ACTIONS, Actions, actions_make
from digest.email.caches import registered
from digest.email.clean import Spans, display_text, href_encode, snippet_trim, spans_clean, texts_clean
from digest.email.contract import EMAIL_KINDS, DigestEmail, DigestItem
from digest.email.inline import InlineKey
from digest.library.records import library_topic

AUTHORS_SHOWN = 3
CATEGORIES_SHOWN = 4
SNIPPET_MAX_CHARS = 360
PREHEADER_MAX_CHARS = 140


@dataclass(frozen=True, slots=True, eq=False)
class Paper:
    """What a card shows that depends only on the paper and the day (cleaned once, then cached).

    Compared by identity: :func:`paper_make` is cached, so one paper on one day is one object, and the
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
class Card:
    """One item's content, cleaned -- everything but its feedback links, which are signed per subscriber.

    Compared by identity (made by the cached :func:`card_make`). It keeps its rendered pieces -- the HTML
    around the feedback row (``html_memo``, by whether it has links), the numbered text blocks
    (``text_memo``, by the number's width and whether it has links): per email, only the reference numbers and
    the feedback links are new.
    """

    paper: Paper
    title: str
    title_spans: Spans
    snippet: str
    snippet_spans: Spans
    why: str
    interests: tuple[str, ...]
    near_miss: str
    slots: tuple[str, ...]  # the optional slots present without feedback links (see card_slots)
    slots_with_actions: tuple[str, ...]  # the same plus "actions"
    html_memo: dict[bool, tuple[str, str, int]] = field(default_factory=dict)
    text_memo: dict[tuple[int, bool], str] = field(default_factory=dict)

    def inline_key(self, with_actions: bool) -> InlineKey:
        """The inlined-card cache key: the paper and the slots this card has."""
        return (self.paper, self.slots_with_actions if with_actions else self.slots)


class CardKey(NamedTuple):
    """:func:`card_make`'s argument: what the card shows, so subscribers who share interests share a card.

    Left out: the feedback links (signed per subscriber; each email adds its own) and the matched words
    when the "why" line names interests instead (the subscriber's other words don't show). A NamedTuple,
    not a frozen dataclass: it is built and hashed for every card of every email, and a tuple hashes and
    compares in C (a frozen dataclass cost 5x the whole cache lookup; see docs/EMAIL.md).
    """

    day: date
    snippet_limit: int
    paper_key: int
    title: str
    url: str
    pdf_url: str
    hf_url: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    popularity: int | None
    suggested: bool
    snippet: str
    title_spans: Spans
    snippet_spans: Spans
    interests: tuple[str, ...]
    matched_terms: tuple[str, ...]
    near_miss: str
    matched_as: tuple[str, ...]
    trending_rank: int
    weekly: bool  # only said by a trending card ("#2 on Hugging Face this week"); False for every other card

    @classmethod
    def of(cls, item: DigestItem, day: date, snippet_limit: int, weekly: bool = False) -> CardKey:
        interests = item.interests if type(item.interests) is tuple else tuple(item.interests)
        # Positional, in field order (a keyword call costs 2 us a card; tuple.__new__ 0.4 us):
        # tests/digest/email/test_view.py checks each field gets its own value.
        return tuple.__new__(
            cls,
            (
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
                interests,
                () if texts_clean(interests) else item.matched_terms,
                item.near_miss,
                item.matched_as if type(item.matched_as) is tuple else tuple(item.matched_as),
                item.trending_rank,
                weekly and item.trending_rank > 0,
            ),
        )


@registered
@functools.cache
def card_slots(snippet: bool, why: bool, near_miss: bool, actions: bool) -> tuple[str, ...]:
    """Which optional per-subscriber slots a card has, in template order (one shared tuple per combination)."""
    present = (("snippet", snippet), ("why", why), ("near_miss", near_miss), ("actions", actions))
    return tuple(name for name, there in present if there)


@dataclass(frozen=True, slots=True)
class View:
    kind: str
    for_browser: bool
    cards: tuple[Card, ...]
    actions: tuple[Actions, ...]  # each card's feedback links (may be none)
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
    # A keyword digest's "Trending today" section starts before this card (-1: no section).
    section_at: int = -1
    section_title: str = ""
    # With a section: how many papers are the subscriber's own matches (the headline and subject count those).
    own_count: int = -1


def _authors_text(authors: tuple[str, ...]) -> str:
    names = [n for n in (display_text(a) for a in authors) if n]
    if len(names) > AUTHORS_SHOWN:
        return ", ".join(names[:AUTHORS_SHOWN]) + wording.ET_AL
    return ", ".join(names)


def _meta_text(categories: tuple[str, ...], popularity: int | None) -> str:
    parts = [c for c in (display_text(c) for c in categories[:CATEGORIES_SHOWN]) if c]
    if popularity is not None and popularity > 0:
        parts.append(wording.upvotes(int(popularity)))
    return wording.SEP.join(parts)


@registered
@functools.lru_cache(maxsize=8192)
def paper_make(
    day: date,
    paper_key: int,
    url: str,
    pdf_url: str,
    hf_url: str,
    authors: tuple[str, ...],
    categories: tuple[str, ...],
    popularity: int | None,
    suggested: bool,
) -> Paper:
    # A URL that isn't http(s) (javascript:, relative, empty) is never linked; the card still shows.
    return Paper(
        digest_date=day,
        paper_key=paper_key,
        url=href_encode(url),
        pdf_url=href_encode(pdf_url),
        hf_url=href_encode(hf_url),
        authors=_authors_text(authors),
        meta=_meta_text(categories, popularity),
        suggested=suggested,
    )


# Each card keeps its rendered pieces (~5 KB: the HTML around its feedback row, numbered text blocks), so
# this bounds that memory to ~100 MB per process; a day's distinct cards usually number far fewer.
@registered
@functools.lru_cache(maxsize=16384)
def card_make(key: CardKey) -> Card:
    """Clean one item's content (see :class:`CardKey` for why these fields and no others)."""
    trending = key.trending_rank > 0
    paper = paper_make(
        key.day,
        key.paper_key,
        key.url,
        key.pdf_url,
        key.hf_url,
        key.authors,
        key.categories,
        None if trending else key.popularity,  # a trending card says its upvotes in its "why" line
        key.suggested,
    )
    title, title_spans = spans_clean(key.title, key.title_spans, is_title=True)
    snippet, snippet_spans = spans_clean(key.snippet, key.snippet_spans)
    snippet, snippet_spans = snippet_trim(snippet, snippet_spans, key.snippet_limit)
    interests = texts_clean(key.interests)
    near_miss = display_text(key.near_miss)
    # A near miss says which interest almost matched and what was missing: it takes the "why" line's place.
    if trending:
        why = wording.trending_why(upvotes=key.popularity, rank=key.trending_rank, weekly=key.weekly)
    else:
        why = "" if near_miss else wording.why(interests, texts_clean(key.matched_terms), texts_clean(key.matched_as))
    return Card(
        paper=paper,
        title=title or wording.UNTITLED,
        title_spans=title_spans if title else (),
        snippet=snippet,
        snippet_spans=snippet_spans,
        why=why,
        interests=interests,
        near_miss=near_miss,
        slots=card_slots(bool(snippet), bool(why), bool(near_miss), False),
        slots_with_actions=card_slots(bool(snippet), bool(why), bool(near_miss), True),
    )


def _hashable(key: CardKey) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def card_get(item: DigestItem, day: date, snippet_limit: int, weekly: bool = False) -> Card:
    """The shared card for ``item``. Items with lists where the contract says tuples work too (their key
    can't be hashed, so it is made again from tuples); any other TypeError is the cleaning code's own and
    goes out as it was raised -- not retried, not chained to another."""
    key = CardKey.of(item, day, snippet_limit, weekly)
    try:
        return card_make(key)
    except TypeError:
        if _hashable(key):  # only checked on the error path: hashing every key twice costs 4% of a build
            raise
    fixed = replace(
        item,
        authors=tuple(item.authors),
        categories=tuple(item.categories),
        title_spans=tuple(map(tuple, item.title_spans)),  # type: ignore[arg-type]
        snippet_spans=tuple(map(tuple, item.snippet_spans)),  # type: ignore[arg-type]
        matched_terms=tuple(item.matched_terms),
        interests=tuple(item.interests),
        matched_as=tuple(item.matched_as),
    )
    return card_make(CardKey.of(fixed, day, snippet_limit, weekly))


@registered
@functools.lru_cache(maxsize=65536)
def topics_rank(cards: tuple[Card, ...], interests: tuple[str, ...]) -> tuple[str, ...]:
    """The interests that matched today, most papers first (ties: the subscriber's own order)."""
    counts: dict[str, int] = {}
    for card in cards:
        # Papers like the subscriber's library are one topic, however many library papers they resemble.
        for topic in dict.fromkeys(library_topic(t) for t in card.interests):
            counts[topic] = counts.get(topic, 0) + 1
    order = {t: n for n, t in enumerate(interests)}
    return tuple(sorted(counts, key=lambda t: (-counts[t], order.get(t, len(order)), t)))


def _link_required(url: str, name: str) -> str:
    clean = href_encode(url)
    if not clean:
        raise ValueError(f"DigestLinks.{name} must be an absolute http(s) URL, got {url!r}")
    return clean


def _preheader(cards: Iterable[Card], *, quiet: bool) -> str:
    preheader = wording.preheader(wording.SEP.join([c.title for c in cards]), quiet=quiet)
    if len(preheader) > PREHEADER_MAX_CHARS:  # cut at a word, inbox previews show ~100 characters anyway
        cut = preheader.rfind(" ", 0, PREHEADER_MAX_CHARS)
        preheader = preheader[: cut if cut > PREHEADER_MAX_CHARS // 2 else PREHEADER_MAX_CHARS - 1].rstrip(" ·") + "…"
    return preheader


def view_make(
    email: DigestEmail,
    *,
    for_browser: bool = False,
    snippet_limit: int = SNIPPET_MAX_CHARS,
    max_cards: int | None = None,
    with_actions: bool = True,
) -> View:
    if email.kind not in EMAIL_KINDS:
        raise ValueError(f"DigestEmail.kind must be one of {EMAIL_KINDS}, got {email.kind!r}")
    items = email.items if max_cards is None else email.items[:max_cards]
    day = email.digest_date
    weekly = email.frequency == "weekly"
    cards = tuple([card_get(i, day, snippet_limit, weekly) for i in items])
    actions = tuple(
        [actions_make(i.actions, n) if with_actions and i.actions else NO_ACTIONS for n, i in enumerate(items, 1)]
    )
    quiet = email.kind == "quiet"
    trending = email.kind == "trending"
    date_text = wording.date_text(day)
    interests = texts_clean(email.interests)
    all_cards = cards if max_cards is None else tuple([card_get(i, day, 0, weekly) for i in email.items])
    section_at = _section_start(items) if email.kind == "digest" else -1
    own_count = _section_start(email.items) if email.kind == "digest" else -1
    return View(
        kind=email.kind,
        for_browser=for_browser,
        cards=cards,
        actions=actions,
        more=len(email.items) - len(cards),
        date_text=date_text,
        page_title=wording.page_title(date_text),
        headline=wording.headline(
            count=own_count if own_count >= 0 else len(email.items), weekly=weekly, quiet=quiet, trending=trending
        ),
        topics=topics_rank(all_cards, interests),
        interests=interests,
        preheader=_preheader(cards[:3], quiet=quiet),
        recipient=display_text(email.recipient),
        frequency="weekly" if weekly else "daily",
        unsubscribe_url=_link_required(email.links.unsubscribe_url, "unsubscribe_url"),
        manage_url=_link_required(email.links.manage_url, "manage_url"),
        view_url=_link_required(email.links.view_url, "view_url"),
        site_url=href_encode(settings.SITE_URL) or "http://localhost/",
        postal=display_text(settings.PAPERBOY_POSTAL_ADDRESS),
        section_at=section_at,
        section_title=wording.trending_section(weekly=weekly) if section_at >= 0 else "",
        own_count=own_count,
    )


def _section_start(items: tuple[DigestItem, ...]) -> int:
    """Where a keyword digest's trending papers start, after its own matches (-1: none, or nothing before)."""
    for n, item in enumerate(items):
        if item.trending_rank:
            return n if n > 0 else -1
    return -1
