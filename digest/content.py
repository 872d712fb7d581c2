"""``Delivery.content``: its one schema, its one writer and its one reader.

Matching produces :class:`digest.matching.Match` objects; a Delivery stores them as plain JSON
(``content``, a list of :class:`ContentEntry`) so the archive shows a digest exactly as it was
emailed; rendering turns that JSON plus the papers into a :class:`digest.email.DigestEmail`.
Every entry is made here (planned matches, learned suggestions, quiet-day near misses, a merged
paper's replacement) and read here (matched terms, the near-miss line, the email's items).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict, cast

from digest.email import DigestEmail, DigestItem, DigestLinks
from digest.feedback.links import FeedbackLinkMaker
from digest.links import digest_links_make
from digest.matching import Match, Reason
from digest.matching.explain import Highlighter, MatchPart, matches_parts
from digest.matching.highlight import ELLIPSIS, spans_merge_pairs
from digest.models import Delivery, Paper
from digest.selectors.papers import papers_visible_by_id


class ContentReason(TypedDict):
    interest: str
    terms: list[str]
    # How each term was found, when one was found in another form ("LLM, as 'large language model'").
    described: NotRequired[list[str]]


class ContentEntry(TypedDict):
    """One paper of a stored digest (JSON: spans are ``[start, end]`` lists)."""

    paper: int
    score: float
    reasons: list[ContentReason]
    title_spans: list[list[int]]
    snippet: str
    snippet_spans: list[list[int]]
    suggested: bool
    # Quiet-day notes only: the paper nearly matched ``reasons[0]["interest"]`` but lacks ``missing``.
    near_miss: NotRequired[bool]
    missing: NotRequired[str]
    # Trending entries only (issue 19): the paper's upvotes when planned and its place in the window's list.
    trending: NotRequired[bool]
    upvotes: NotRequired[int]
    rank: NotRequired[int]


ContentMemo = dict[tuple, ContentEntry]
Spans = tuple[tuple[int, int], ...]


def content_from_matches(
    matches: Iterable[Match], *, suggested: bool = False, memo: ContentMemo | None = None
) -> list[ContentEntry]:
    """The stored form of matches. With ``memo`` (one per planning pass), the entry of a paper matched
    for the same reasons with the same score -- every subscriber with the same interests -- is built
    once and shared (entries are only ever serialised, never changed)."""
    if memo is None:
        return [_content_entry(match, suggested) for match in matches]
    out = []
    for match in matches:
        key = (match.paper_key, match.score, match.reasons, suggested)
        entry = memo.get(key)
        if entry is None:
            entry = memo[key] = _content_entry(match, suggested)
        out.append(entry)
    return out


def _reason_entry(reason: Reason) -> ContentReason:
    """One reason as stored; "described" only when a word was found in another form (see :class:`Reason`)."""
    entry: ContentReason = {"interest": reason.interest, "terms": list(reason.terms)}
    if reason.described:
        entry["described"] = list(reason.described)
    return entry


class ContentJson:
    """``json.dumps(content)`` for the planner, with each shared entry's JSON written once.

    Entries made through a memo are shared by many subscribers (``content_from_matches``) and never
    changed, so their JSON text is kept (with the entry itself, so its ``id`` cannot be reused) and
    a row's content is those texts joined: exactly what ``json.dumps`` writes for the list (the
    reference; a property test checks they agree), at a fraction of the cost."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[ContentEntry, str]] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def dumps(self, content: Sequence[ContentEntry]) -> str:
        texts = self._texts
        parts = []
        for entry in content:
            found = texts.get(id(entry))
            if found is None:
                found = texts[id(entry)] = (entry, json.dumps(entry))
            parts.append(found[1])
        return "[" + ", ".join(parts) + "]"


ALONE_KEPT = 300_000  # one-interest entries a window keeps (~0.8 KB each); at most one per (interest, paper)
TOGETHER_KEPT = 20_000  # entries of papers matched by several interests a window keeps (~0.8 KB each)


@dataclass(frozen=True, slots=True)
class _PartText:
    """One interest's part of a paper's entry, as JSON fragments (``ContentShared``): written once per
    part, then joined into every entry the part is in."""

    reason: str  # the reason
    title: str  # the part's title spans
    inside: Spans  # its words' spans inside its snippet window (the window's text is the part's own)
    inside_json: str


class ContentShared:
    """The planner's fast path to a row's ``content`` JSON text, without making its entries.

    A match made by ``match_profiles`` is written from the parts of the interests that matched it
    (``match_parts``: kept per interest and paper on the window's index), each part written as JSON
    fragments once (``_PartText``). A one-interest match, the common case, is its part's whole entry,
    written once per (part, score) and kept. A paper matched by several of a subscriber's interests is
    mostly a new combination (at a million subscribers nine in ten are), so its entry is joined from
    its parts' fragments: only the snippet's spans of the other interests' words in the anchoring
    part's window, and a title two parts highlight, are merged anew. The entries themselves are only
    made if something reads them (``ContentEntriesJson``). The reference is ``content_from_matches`` +
    ``json.dumps`` (a property test checks they agree). ``content`` says None for anything it does not
    cover (a suggestion, a match not made lazily by ``match_profiles``): the caller takes the reference
    path."""

    def __init__(self) -> None:
        self._parts: dict[MatchPart, _PartText] = {}
        self._alone: dict[MatchPart, tuple[float, str]] = {}
        self._together: dict[tuple[tuple[MatchPart, ...], float], str] = {}

    def __len__(self) -> int:
        return len(self._alone) + len(self._parts) + len(self._together)

    def bound(self) -> None:
        """Bounded memory: past ALONE_KEPT one-interest entries or parts, those start again (the parts
        behind them are bounded on the index); entries of several interests stop being kept at
        TOGETHER_KEPT (the first kept are the most shared: two popular interests meet early)."""
        if len(self._alone) > ALONE_KEPT or len(self._parts) > ALONE_KEPT:
            self._alone, self._parts = {}, {}

    def content(self, matches: Sequence[Match]) -> tuple[Sequence[ContentEntry], str] | None:
        found = matches_parts(matches)
        if found is None:
            return None
        alone, together = self._alone, self._together
        texts: list[str] = []
        for paper_key, raw_score, doc, parts, highlighter in found:
            score = round(raw_score, 4)
            if len(parts) == 1:
                kept = alone.get(parts[0])
                if kept is None or kept[0] != score:
                    kept = alone[parts[0]] = (score, self._entry_json(paper_key, score, doc, parts, highlighter))
                texts.append(kept[1])
            else:
                # Several interests together: new combinations are most of them, but subscribers who share
                # two popular interests share their papers' entries (kept while there is room).
                key = (parts, score)
                text = together.get(key)
                if text is None:
                    text = self._entry_json(paper_key, score, doc, parts, highlighter)
                    if len(together) < TOGETHER_KEPT:
                        together[key] = text
                texts.append(text)
        return ContentEntriesJson(texts), "[" + ", ".join(texts) + "]"

    def _entry_json(
        self, paper_key: int, score: float, doc: int, parts: tuple[MatchPart, ...], highlighter: Highlighter
    ) -> str:
        """``json.dumps(_content_entry(match, False))``, from the parts' fragments (keys in the same order).

        As ``Highlighter.compose`` (the reference) does it: the snippet is the window of the first part
        with the rarest anchor; its spans are every part's words inside that window, merged -- the
        anchoring part's own, written with its fragments, plus any other part's; title spans likewise.
        Written as plain loops: this runs for nearly every paper several interests matched."""
        known = self._parts
        reasons: list[str] = []
        best: MatchPart | None = None
        best_text: _PartText | None = None
        title = "[]"
        titled: list[Spans] = []
        for part in parts:
            text = known.get(part)
            if text is None:
                text = self._part_text(doc, part, highlighter)
            reasons.append(text.reason)
            if best is None or (part.anchor is not None and (best.anchor is None or part.anchor_df < best.anchor_df)):
                best, best_text = part, text
            if part.title:
                if not titled:
                    title = text.title
                titled.append(part.title)
        assert best is not None and best_text is not None  # parts is never empty
        if len(titled) > 1:
            title = _spans_json(spans_merge_pairs([span for spans in titled for span in spans]))
        inside = _inside_json(best, best_text, parts) if len(parts) > 1 else best_text.inside_json
        return (
            f'{{"paper": {paper_key}, "score": {score!r}, "reasons": [{", ".join(reasons)}], "title_spans": {title}, '
            f'"snippet": {_string_json(best.window[2])}, "snippet_spans": {inside}, "suggested": false}}'
        )

    def _part_text(self, doc: int, part: MatchPart, highlighter: Highlighter) -> _PartText:
        found = self._parts.get(part)
        if found is None:
            title, _, inside = highlighter.compose(doc, (part,))
            found = self._parts[part] = _PartText(
                reason=json.dumps(_reason_entry(part.reason)),
                title=_spans_json(title),
                inside=inside,
                inside_json=_spans_json(inside),
            )
        return found


def _inside_json(best: MatchPart, best_text: _PartText, parts: tuple[MatchPart, ...]) -> str:
    """The snippet spans of an entry of several interests: the anchoring part's own, plus any other
    part's words that fall inside its window (most fall outside: then the part's own JSON serves)."""
    start, end, _ = best.window
    shift = (len(ELLIPSIS) if start > 0 else 0) - start
    extra: list[tuple[int, int]] = []
    for part in parts:
        if part is not best:
            for s, e in part.abstract:
                if s >= start and e <= end:
                    extra.append((s + shift, e + shift))
    return _spans_json(spans_merge_pairs([*best_text.inside, *extra])) if extra else best_text.inside_json


def _spans_json(spans: Spans) -> str:
    """``json.dumps`` of spans (int pairs): Python's own list display is the same text with brackets."""
    return str(list(spans)).replace("(", "[").replace(")", "]")


# ``json.dumps(text)`` for a str, without the encoder's set-up (json.dumps' own function for strings).
_string_json = json.encoder.encode_basestring_ascii


class ContentEntriesJson(Sequence[ContentEntry]):
    """A row's entries as their JSON texts, parsed only if something reads them (the planner writes the
    text; a trending section or the SQLite path reads the entries)."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = texts
        self._entries: list[ContentEntry] | None = None

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, i):
        if self._entries is None:
            self._entries = [json.loads(text) for text in self._texts]
        return self._entries[i]


def _content_entry(match: Match, suggested: bool) -> ContentEntry:
    return {
        "paper": match.paper_key,
        "score": round(match.score, 4),
        "reasons": [_reason_entry(r) for r in match.reasons],
        "title_spans": [list(span) for span in match.title_spans],
        "snippet": match.snippet,
        "snippet_spans": [list(span) for span in match.snippet_spans],
        "suggested": suggested,
    }


def content_near_miss_entry(
    *, paper_key: int, score: float, interest: str, terms: Sequence[str], missing: str
) -> ContentEntry:
    """A quiet-day note's entry: a paper that nearly matched ``interest`` but lacks ``missing``."""
    return {
        "paper": paper_key,
        "score": round(score, 4),
        "reasons": [{"interest": interest, "terms": list(terms)}],
        "title_spans": [],
        "snippet": "",
        "snippet_spans": [],
        "suggested": False,
        "near_miss": True,
        "missing": missing,
    }


def content_trending_entry(*, paper_key: int, upvotes: int, rank: int, snippet: str = "") -> ContentEntry:
    """A trending paper's entry: it is there for its upvotes, not for a matched word (``snippet``: the
    abstract's opening, since no matched word picks a passage)."""
    return {
        "paper": paper_key,
        "score": float(upvotes),
        "reasons": [],
        "title_spans": [],
        "snippet": snippet,
        "snippet_spans": [],
        "suggested": False,
        "trending": True,
        "upvotes": upvotes,
        "rank": rank,
    }


def content_split_trending(content: Iterable[ContentEntry]) -> tuple[list[ContentEntry], list[ContentEntry]]:
    """A stored digest's personal entries and its trending ones, each in stored order."""
    personal: list[ContentEntry] = []
    trending: list[ContentEntry] = []
    for entry in content:
        (trending if entry.get("trending") else personal).append(entry)
    return personal, trending


def content_paper_replace(
    content: Sequence[ContentEntry], *, old_id: int, new_id: int, already_sent: bool
) -> list[ContentEntry]:
    """``content`` with paper ``old_id`` swapped for ``new_id`` (a merged duplicate and its survivor),
    or dropped when ``new_id`` is in it already or the subscriber received it already."""
    out: list[ContentEntry] = []
    has_new = any(entry.get("paper") == new_id for entry in content)
    for entry in content:
        if entry.get("paper") != old_id:
            out.append(entry)
        elif not has_new and not already_sent:
            out.append({**entry, "paper": new_id})
            has_new = True
    return out


# What an old digest row keeps: the paper, its score and why it matched (the archive, the feedback
# links and the learned ranking read these); the snippet and the highlight spans go.
PRUNED_KEYS = ("snippet", "snippet_spans", "title_spans")


def content_pruned(content: Sequence[ContentEntry]) -> list[ContentEntry]:
    """``content`` as ``digest.delivery.prune`` keeps it after PAPERBOY_DELIVERY_PRUNE_DAYS."""
    return [cast(ContentEntry, {k: v for k, v in entry.items() if k not in PRUNED_KEYS}) for entry in content]


def content_paper_ids(content: Iterable[ContentEntry]) -> list[int]:
    return [entry["paper"] for entry in content]


def hf_page_url(paper: Paper) -> str:
    return paper.hf_url or ""


def entry_terms(entry: ContentEntry) -> tuple[str, ...]:
    """The matched words of a stored entry, in order, once each."""
    return tuple(dict.fromkeys(term for reason in entry.get("reasons", []) for term in reason.get("terms", [])))


def entry_matched_as(entry: ContentEntry) -> tuple[str, ...]:
    """How the entry's words that the paper has only in another form were found, once each
    ("LLM, as 'large language model'"); older entries without "described" have none."""
    found: dict[str, None] = {}
    for reason in entry.get("reasons", []):
        terms, described = reason.get("terms", []), reason.get("described") or []
        for term, text in zip(terms, described, strict=False):
            if isinstance(text, str) and text != term:
                found[text] = None
    return tuple(found)


def near_miss_text(entry: ContentEntry) -> str:
    if not entry.get("near_miss"):
        return ""
    interest = entry["reasons"][0]["interest"] if entry.get("reasons") else ""
    return f"Almost matched {interest}: missing {entry.get('missing', '')}".strip()


def digest_item_from_entry(
    entry: ContentEntry,
    paper: Paper,
    *,
    actions: tuple[tuple[str, str], ...] = (),
    terms: tuple[str, ...] | None = None,
) -> DigestItem:
    """``terms``: the entry's matched words when the caller already has them (:func:`entry_terms`)."""
    reasons = entry.get("reasons", [])
    trending = bool(entry.get("trending"))
    return DigestItem(
        paper_key=paper.id,
        title=paper.title,
        url=paper.url,
        pdf_url=paper.pdf_url,
        hf_url=hf_page_url(paper),
        authors=tuple(paper.authors or ()),
        categories=tuple(paper.categories or ()),
        # A trending card shows the upvotes that ranked it when planned, so its "#2" and its count agree.
        popularity=entry.get("upvotes", paper.popularity) if trending else paper.popularity,
        snippet=entry.get("snippet", ""),
        title_spans=cast(Spans, tuple(map(tuple, entry.get("title_spans", ())))),
        snippet_spans=cast(Spans, tuple(map(tuple, entry.get("snippet_spans", ())))),
        matched_terms=entry_terms(entry) if terms is None else terms,
        interests=tuple(dict.fromkeys([reason["interest"] for reason in reasons])),
        matched_as=entry_matched_as(entry),
        suggested=bool(entry.get("suggested", False)),
        actions=actions,
        near_miss=near_miss_text(entry),
        trending_rank=int(entry.get("rank", 0)) if trending else 0,
    )


def digest_items_build(
    content: Iterable[ContentEntry],
    papers: Mapping[int, Paper],
    *,
    delivery: Delivery | None = None,
    links_issued_at: float | None = None,
) -> tuple[DigestItem, ...]:
    """Items in stored order, leaving out papers no longer visible (hidden after planning).

    With ``delivery`` each card carries its signed feedback links (one signer for the whole email),
    issued now or at ``links_issued_at``."""
    maker = (
        FeedbackLinkMaker(
            subscription_id=delivery.subscription_id,
            delivery_id=delivery.id,
            address=delivery.to_email,
            issued_at=links_issued_at,
        )
        if delivery
        else None
    )
    items = []
    for entry in content:
        paper = papers.get(entry["paper"])
        if paper is None:
            continue
        terms = entry_terms(entry)
        actions = maker.actions(paper_id=paper.id, words=terms, authors=paper.authors or ()) if maker else ()
        items.append(digest_item_from_entry(entry, paper, actions=actions, terms=terms))
    return tuple(items)


def library_interests(content: Iterable[ContentEntry]) -> tuple[str, ...]:
    """What a subscriber with a library and no keyword interest "follows", for the email's footer."""
    from_library = any(not r.get("terms") for entry in content for r in entry.get("reasons", []))
    return ("papers like your library",) if from_library else ()


def content_is_quiet_note(content: Iterable[ContentEntry]) -> bool:
    entries = list(content)
    return bool(entries) and all(entry.get("near_miss") for entry in entries)


def content_is_trending(content: Iterable[ContentEntry]) -> bool:
    """A trending digest: every paper is there for its upvotes (a keyword digest's section is not)."""
    entries = list(content)
    return bool(entries) and all(entry.get("trending") for entry in entries)


def content_email_kind(content: Iterable[ContentEntry]) -> str:
    entries = list(content)
    if content_is_trending(entries):
        return "trending"
    return "quiet" if content_is_quiet_note(entries) else "digest"


def digest_email_build(
    *,
    delivery: Delivery,
    papers: Mapping[int, Paper],
    interests: tuple[str, ...],
    links: DigestLinks | None = None,
    frequency: str | None = None,
    links_issued_at: float | None = None,
) -> DigestEmail:
    """The email of one delivery; its signed links and the subscriber's frequency unless given.

    A trending digest names the subscriber's arXiv categories where a keyword digest names interests."""
    kind = content_email_kind(delivery.content)
    if kind == "trending":
        interests = tuple(delivery.subscription.trending_categories or ())
    return DigestEmail(
        recipient=delivery.to_email,
        digest_date=delivery.slot,
        items=digest_items_build(delivery.content, papers, delivery=delivery, links_issued_at=links_issued_at),
        interests=interests or library_interests(delivery.content),
        links=links
        or digest_links_make(
            subscription_id=delivery.subscription_id, delivery_id=delivery.id, address=delivery.to_email
        ),
        message_id=delivery.message_id,
        frequency=frequency or delivery.subscription.frequency,
        kind=kind,
        test=delivery.kind == Delivery.Kind.TEST,
    )


def digest_email_from_delivery(delivery: Delivery, *, as_sent: bool = False) -> DigestEmail:
    """One delivery as a DigestEmail (the archive and "view in browser" pages use this).

    ``as_sent``: the feedback links are signed as of the send time, so they expire when the email's
    own do (the anonymous "view in browser" page must not mint fresh ones: security review L5)."""
    subscription = delivery.subscription
    papers = papers_visible_by_id(paper_ids=content_paper_ids(delivery.content))
    interests = tuple(subscription.interests.values_list("query", flat=True))
    issued = delivery.sent_at.timestamp() if as_sent and delivery.sent_at else None
    return digest_email_build(delivery=delivery, papers=papers, interests=interests, links_issued_at=issued)
