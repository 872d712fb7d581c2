"""The planner's writer of ``Delivery.content`` as JSON text: each shared entry's text written once
(``ContentJson``), and the fast path that writes a row from its matches' per-interest parts without
making its entries (``ContentShared``; the reference is ``content_from_matches`` + ``json.dumps``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from digest.content.entries import ContentEntry, Spans, reason_entry
from digest.matching import Match
from digest.matching.explain import Highlighter, MatchPart, matches_parts
from digest.matching.highlight import snippet_shift, spans_merge_pairs


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


_NO_ANCHOR = 1 << 62  # a part without an abstract anchor ranks after every part with one


@dataclass(frozen=True, slots=True)
class _PartText:
    """One interest's part of a paper's entry, as JSON fragments (``ContentShared``): written once per
    part, then joined into every entry the part is in."""

    reason: str  # the reason
    title: str  # the part's title spans
    title_spans: Spans
    inside: Spans  # its words' spans inside its snippet window (the window's text is the part's own)
    inside_json: str
    rank: int  # its anchor's document frequency (rarest anchors the snippet); _NO_ANCHOR without one
    # Its snippet window (start, end, text; in the abstract's characters) and its words' spans in the
    # abstract: the part's own objects, not copies. A window keeps up to ALONE_KEPT parts: a copy of the
    # snippet's JSON text here was a third of their memory (~100 MiB of a planner's peak, measured).
    window: tuple[int, int, str]
    abstract: tuple[tuple[int, int], ...]


class ContentShared:
    """The planner's fast path to a row's ``content`` JSON text, without making its entries.

    A match made by ``match_profiles`` is written from the parts of the interests that matched it
    (``matches_parts``: kept per interest and paper on the window's index), each part written as JSON
    fragments once (``_PartText``). A one-interest match, the common case, is its part's whole entry,
    written once per (part, score) and kept. A paper matched by several of a subscriber's interests is
    mostly a new combination (95 % of them in the planning benchmark's steady state), so its entry is joined from
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
        # ``round(score, 4)`` of the scores seen: Python rounds a float to digits exactly but slowly
        # (through its decimal digits), and a window's scores repeat.
        self._rounded: dict[float, float] = {}

    def __len__(self) -> int:
        return len(self._alone) + len(self._parts) + len(self._together)

    def bound(self) -> None:
        """Bounded memory: past ALONE_KEPT one-interest entries or parts, those start again (the parts
        behind them are bounded on the index); entries of several interests stop being kept at
        TOGETHER_KEPT (the first kept are the most shared: two popular interests meet early)."""
        if len(self._alone) > ALONE_KEPT or len(self._parts) > ALONE_KEPT:
            self._alone, self._parts = {}, {}
        if len(self._rounded) > ALONE_KEPT:
            self._rounded = {}

    def content(self, matches: Sequence[Match]) -> tuple[Sequence[ContentEntry], str] | None:
        found = matches_parts(matches)
        if found is None:
            return None
        alone, together, rounded = self._alone, self._together, self._rounded
        texts: list[str] = []
        for paper_key, raw_score, doc, parts, highlighter in found:
            score = rounded.get(raw_score)
            if score is None:
                score = rounded[raw_score] = round(raw_score, 4)
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
        # "[" + joined + "]", copying the joined text (kilobytes) once rather than twice.
        return ContentEntriesJson(texts), ", ".join(texts).join("[]")

    def _entry_json(
        self, paper_key: int, score: float, doc: int, parts: tuple[MatchPart, ...], highlighter: Highlighter
    ) -> str:
        """``json.dumps(_content_entry(match, False))``, from the parts' fragments (keys in the same order).

        As ``Highlighter.compose`` (the reference) does it: the snippet is the window of the first part
        with the rarest anchor; its spans are every part's words inside that window, merged -- the
        anchoring part's own, written with its fragments, plus any other part's; title spans likewise.
        Written with list displays and no per-part branches: this runs for nearly every paper several
        interests matched, and most such entries are new (their parts are not)."""
        known = self._parts
        texts = [known.get(part) or self._part_text(doc, part, highlighter) for part in parts]
        if len(texts) == 1:
            best = texts[0]
            title, inside = best.title, best.inside_json
        else:
            ranks = [text.rank for text in texts]
            best = texts[ranks.index(min(ranks))]  # the first of the rarest anchors
            titled = [text for text in texts if text.title_spans]
            if len(titled) > 1:
                title = _spans_json(spans_merge_pairs([span for text in titled for span in text.title_spans]))
            else:
                title = titled[0].title if titled else "[]"
            start, end, _ = best.window
            shift = snippet_shift(start)
            # The other parts' words inside the anchoring window (most fall outside it).
            extra = [
                (s + shift, e + shift)
                for text in texts
                if text is not best
                for s, e in text.abstract
                if s >= start and e <= end
            ]
            inside = _spans_json(spans_merge_pairs([*best.inside, *extra])) if extra else best.inside_json
        snippet = _string_json(best.window[2])
        return (
            f'{{"paper": {paper_key}, "score": {score!r}, "reasons": [{", ".join([t.reason for t in texts])}], '
            f'"title_spans": {title}, "snippet": {snippet}, "snippet_spans": {inside}, "suggested": false}}'
        )

    def _part_text(self, doc: int, part: MatchPart, highlighter: Highlighter) -> _PartText:
        found = self._parts.get(part)
        if found is None:
            title, _, inside = highlighter.compose(doc, (part,))
            found = self._parts[part] = _PartText(
                reason=json.dumps(reason_entry(part.reason)),
                title=_spans_json(title),
                title_spans=part.title,
                inside=inside,
                inside_json=_spans_json(inside),
                rank=part.anchor_df if part.anchor is not None else _NO_ANCHOR,
                window=part.window,
                abstract=part.abstract,
            )
        return found


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
