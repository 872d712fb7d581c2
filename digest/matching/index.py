"""The day's papers as an inverted, positional index (built once, queried many times).

Layout: every paper's title tokens, a sentinel, its abstract tokens and a sentinel are laid end to
end in one array of stem ids (``stream``); a phrase is found by taking the positions of its first
stem and checking the following slots of ``stream`` (sentinels stop phrases crossing fields or
papers).  Authors get a separate stream (a sentinel between authors), categories a dictionary.
Postings (positions of each stem) are computed lazily for a few stems, or all at once by one sort
when a batch needs many; term results are cached on the index, so the live preview gets faster as
the user types and the daily batch evaluates each distinct term once.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .acronyms import AcronymTable, Substitution
from .normalize import TOKEN_RE, fold, fold_offsets, name_tokens, phrase_variants, stem
from .query import TEXT, Term
from .records import PaperDoc

# BM25 and field weights.  Title hits count as several abstract hits; authors and categories are
# exact facts, so they score a flat (idf-weighted) amount.
K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3.0
AUTHOR_WEIGHT = 1.5
CATEGORY_WEIGHT = 0.5
POPULARITY_WEIGHT = 0.15
_EAGER_POSTINGS_AT = 64  # above this many distinct stems, one full sort beats lazy scans
_SENTINEL = b"\x01"
_AUTHOR_SENTINEL = ""
# Byte classes for _tokenize_all: letters/digits (and every non-ASCII byte, which fold() guarantees
# belongs to a letter or digit) stay, the sentinel stays, the rest becomes a space.
_BYTE_TABLE = bytes(c if c >= 0x80 or chr(c).isalnum() or c in (0x01, 0x27) else 0x20 for c in range(256))
_APOSTROPHE = 0x27
_SPACE = 0x20


@dataclass(frozen=True, slots=True)
class TermHits:
    """Where one term occurs: the papers (sorted indexes), their BM25 scores, a dense mask, and the
    token positions/lengths of every occurrence (text fields only, for highlighting).

    ``forms`` says, per occurrence, which way of writing the term it is: 0 as written (or a plural,
    spelling, hyphen or join variant of it), k > 0 the acronym alternative ``alternatives[k - 1]``
    (the substitutions that turn the term into what was found: "LLM" found as "large language model").
    A term without alternatives leaves ``forms`` empty (every occurrence is as written).
    """

    docs: np.ndarray
    scores: np.ndarray
    mask: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    forms: np.ndarray
    alternatives: tuple[tuple[Substitution, ...], ...] = ()


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class _TokenIds(dict):
    """bytes token -> stem id; a token is decoded and stemmed the first time it is seen only.

    One process-wide vocabulary (it only grows, by the words of new papers): stem ids then mean the
    same in every index, so a paper's token ids can be cached between builds (see _doc_streams).
    """

    def __init__(self) -> None:
        super().__init__({_SENTINEL: -1})
        self.stem_ids: dict[str, int] = {}
        self.lock = threading.Lock()

    def __missing__(self, token: bytes) -> int:
        with self.lock:  # ids are handed out in order: two threads must not get the same one
            sid = self.get(token)
            if sid is None:
                sid = self.stem_ids.setdefault(stem(token.decode()), len(self.stem_ids))
                self[token] = sid
        return sid


_TOKEN_IDS = _TokenIds()
# Token ids of recently indexed papers, by (title, abstract): the live preview rebuilds an index of
# the same few thousand papers again and again, and the daily batch indexes papers already seen.
_DOC_STREAMS: dict[tuple[str, str], np.ndarray] = {}
_DOC_STREAMS_MAX = 20_000


def _doc_streams(docs: tuple[PaperDoc, ...]) -> list[np.ndarray]:
    """Per paper, the stem ids of [title, sentinel, abstract, sentinel] (cached)."""
    found: list[np.ndarray | None] = [_DOC_STREAMS.get((d.title, d.abstract)) for d in docs]
    missing = [i for i, arr in enumerate(found) if arr is None]
    if missing:
        words = _tokenize_all([docs[i] for i in missing])
        ids = np.fromiter(map(_TOKEN_IDS.__getitem__, words), dtype=np.int32, count=len(words))
        ends = np.flatnonzero(ids == -1)[1::2] + 1
        begins = np.concatenate(([0], ends[:-1]))
        if len(_DOC_STREAMS) + len(missing) > _DOC_STREAMS_MAX:
            _DOC_STREAMS.clear()  # simple and bounded; the next builds refill it
        for i, a, b in zip(missing, begins.tolist(), ends.tolist(), strict=True):
            arr = ids[a:b].copy()
            found[i] = arr
            _DOC_STREAMS[(docs[i].title, docs[i].abstract)] = arr
    return found  # type: ignore[return-value]


class PaperIndex:
    """Index of one batch of papers; see the module docstring."""

    # Filled by build(); declared here so the type checker knows every array.
    keys: np.ndarray
    stem_ids: dict[str, int]
    stream: np.ndarray
    doc_of: np.ndarray
    in_title: np.ndarray
    title_start: np.ndarray
    abstract_start: np.ndarray
    doc_end: np.ndarray
    length_norm: np.ndarray
    author_ids: dict[str, int]
    author_stream: np.ndarray
    author_doc: np.ndarray
    categories: dict[str, np.ndarray]
    acronyms: AcronymTable
    popularity_factor: np.ndarray
    _postings: dict[int, np.ndarray]
    _all_postings: tuple[np.ndarray, np.ndarray] | None
    _terms: dict[tuple[str, tuple[str, ...], bool], TermHits]  # (field, stems, exact)
    # Each interest's part of explaining a paper, by (interest text, paper): shared by every
    # match_profiles call on this index (the planner's shards of one window, the preview's
    # keystrokes); a match's explanation is composed from its parts (see the explain package).
    # Keyed by an int, (interest number) * papers + paper: cheaper to hash and compare than (text,
    # paper) in the planner's hot loop. An interest's number is given on first sight and never reused
    # (``interest_number``), so a key made before the table was cleared cannot name another interest.
    parts: dict[int, Any]
    interest_numbers: dict[str, int]
    _numbers_given: itertools.count
    reasons: dict[tuple[str, int], tuple]  # (interest text, paper) -> (Reason, positions of its terms)
    # Each interest's evaluation (the papers it matches, its score for each), by its text: a later
    # call on this index (the planner's next shard) evaluates only interests it has not seen.
    evaluated: dict[str, tuple[np.ndarray, np.ndarray]]
    parsed: dict[str, Any]  # interest text -> its Query, parsed against this index's acronyms
    highlighter: Any  # explain.Highlighter, made on first use (explain.highlighter_of)
    _empty: TermHits

    def __init__(self) -> None:  # use PaperIndex.build
        self.docs: tuple[PaperDoc, ...] = ()

    def __len__(self) -> int:
        return len(self.docs)

    def interest_number(self, text: str) -> int:
        """The interest's number on this index (``parts`` keys), given on first sight, never reused."""
        found = self.interest_numbers.get(text)
        if found is None:
            found = self.interest_numbers[text] = next(self._numbers_given)
        return found

    def __getstate__(self) -> dict:
        # Picklable (e.g. for a cache): the caches are left out and rebuilt on demand.
        state = self.__dict__.copy()
        for name in (
            "_terms",
            "_postings",
            "_all_postings",
            "parts",
            "interest_numbers",
            "_numbers_given",
            "reasons",
            "evaluated",
            "parsed",
            "highlighter",
        ):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._caches_empty()

    def _caches_empty(self) -> None:
        self._postings = {}
        self._all_postings = None
        self._terms = {}
        self.parts = {}
        self.interest_numbers = {}
        self._numbers_given = itertools.count()
        self.reasons = {}
        self.evaluated = {}
        self.parsed = {}
        self.highlighter = None

    @classmethod
    def build(cls, docs: Iterable[PaperDoc], *, acronyms: AcronymTable | None = None) -> PaperIndex:
        """Index a batch of papers.  ``acronyms`` defaults to the table learned from these papers
        (each paper's definitions are read once and cached, see acronyms.py) plus the curated list."""
        self = cls()
        # Paper order = key order, so "lowest key first" tie-breaks are "lowest index first".
        self.docs = tuple(sorted(docs, key=lambda d: d.key))
        self.acronyms = AcronymTable.from_docs(self.docs) if acronyms is None else acronyms
        n = len(self.docs)
        self.keys = np.fromiter((d.key for d in self.docs), dtype=np.int64, count=n)

        # Token ids per paper (tokenized in one go, see _tokenize_all, or from the cache), laid end
        # to end.
        self.stem_ids = _TOKEN_IDS.stem_ids
        streams = _doc_streams(self.docs)
        self.stream = np.concatenate(streams) if streams else np.zeros(0, dtype=np.int32)

        # Each paper is [title, sentinel, abstract, sentinel] in the stream.
        sentinels = np.flatnonzero(self.stream == -1)
        title_end, doc_last = sentinels[0::2], sentinels[1::2]
        starts = np.concatenate(([0], doc_last[:-1] + 1)).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        per_doc = doc_last + 1 - starts
        self.doc_of = np.repeat(np.arange(n, dtype=np.int32), per_doc)
        # Mark title ranges with a +1/-1 difference array, then a cumulative sum.
        marks = np.zeros(len(self.stream) + 1, dtype=np.int32)
        np.add.at(marks, starts, 1)
        np.add.at(marks, title_end, -1)
        self.in_title = np.cumsum(marks[:-1]) > 0
        self.title_start = starts
        self.abstract_start = title_end + 1
        self.doc_end = doc_last
        lengths = (per_doc - 2).astype(np.float64)
        avg = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        self.length_norm = K1 * (1.0 - B + B * lengths / avg)

        # Authors: folded tokens (no stemming: names are not plurals), a sentinel between authors.
        author_words: list[str] = []
        author_doc: list[int] = []
        for i, doc in enumerate(self.docs):
            for name in doc.authors:
                toks = name_tokens(name)
                author_words += toks
                author_words.append(_AUTHOR_SENTINEL)
                author_doc.extend([i] * (len(toks) + 1))
        self.author_ids = {}
        for word in dict.fromkeys(author_words):
            self.author_ids[word] = -1 if word == _AUTHOR_SENTINEL else len(self.author_ids)
        self.author_stream = np.fromiter(
            map(self.author_ids.__getitem__, author_words), dtype=np.int32, count=len(author_words)
        )
        self.author_doc = np.array(author_doc, dtype=np.int32)
        self.author_ids.pop(_AUTHOR_SENTINEL, None)

        cats: dict[str, list[int]] = {}
        for i, doc in enumerate(self.docs):
            for cat in dict.fromkeys(fold(c).strip() for c in doc.categories):
                cats.setdefault(cat, []).append(i)
        self.categories = {cat: np.array(ix, dtype=np.int32) for cat, ix in cats.items()}

        pop = np.fromiter((max(d.popularity or 0, 0) for d in self.docs), dtype=np.float64, count=n)
        # A small multiplicative boost: at most +15% (reached at 1000 upvotes), so popularity breaks
        # near ties but never beats a better textual match such as a title hit.
        self.popularity_factor = 1.0 + POPULARITY_WEIGHT * np.minimum(np.log1p(pop) / math.log(1001.0), 1.0)

        self._caches_empty()
        self._empty = TermHits(
            np.zeros(0, np.int32),
            np.zeros(0),
            np.zeros(n, dtype=bool),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int16),
        )
        return self

    # --- postings ----------------------------------------------------------------------------

    def prepare_postings(self, expected_stems: int) -> None:
        """Sort the whole stream once when a batch is about to look up many stems."""
        if self._all_postings is not None or expected_stems < _EAGER_POSTINGS_AT:
            return
        order = np.argsort(self.stream, kind="stable")
        counts = np.bincount(self.stream + 1)
        offsets = np.concatenate(([0], np.cumsum(counts)))
        self._all_postings = (order, offsets)

    def positions(self, sid: int) -> np.ndarray:
        """Sorted stream positions of one stem."""
        if self._all_postings is not None:
            order, offsets = self._all_postings
            if sid + 2 >= len(offsets):  # a word this index does not contain
                return order[:0]
            return order[offsets[sid + 1] : offsets[sid + 2]]
        found = self._postings.get(sid)
        if found is None:
            found = np.flatnonzero(self.stream == sid)
            self._postings[sid] = found
        return found

    # --- terms -------------------------------------------------------------------------------

    def term_hits(self, term: Term) -> TermHits:
        """Papers containing the term (cached per field and stems)."""
        key = (term.field, term.unit, term.exact)
        hits = self._terms.get(key)
        if hits is None:
            hits = self._compute(term)
            self._terms[key] = hits
        return hits

    def _compute(self, term: Term) -> TermHits:
        if not len(self.docs):
            return self._empty
        if term.field == "category":
            return self._compute_category(term)
        if term.field == "author":
            return self._compute_author(term)
        # The term as written, then each acronym alternative of it (not for an =exact term).
        alternatives = () if term.exact else self.acronyms.alternatives(term.unit)
        units = (term.unit, *(unit for unit, _ in alternatives))
        found = self._occurrences(units, title_only=term.field == "title", with_forms=bool(alternatives))
        if found is None:
            return self._empty
        starts, lengths, forms, several = found
        docs, scores = self._bm25(starts, several=several, title_only=term.field == "title")
        return self._hits(docs, scores, starts, lengths, forms, tuple(subs for _, subs in alternatives))

    def _compute_category(self, term: Term) -> TermHits:
        docs = self.categories.get(term.unit[0])
        if docs is None:
            return self._empty
        return self._hits(docs, np.full(len(docs), CATEGORY_WEIGHT * _idf(len(docs), len(self.docs))))

    def _compute_author(self, term: Term) -> TermHits:
        pos = self._phrase(self.author_stream, self.author_ids, term.unit, self.positions_author)
        docs = np.unique(self.author_doc[pos]).astype(np.int32)
        return self._hits(docs, np.full(len(docs), AUTHOR_WEIGHT * _idf(len(docs), len(self.docs))))

    def _occurrences(
        self, units: tuple[tuple[str, ...], ...], *, title_only: bool, with_forms: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None:
        """(starts, lengths, forms, several) of every occurrence of any of ``units`` (with their
        hyphen/join variants), by position; ``forms`` is the index in ``units`` when ``with_forms``,
        else empty; ``several`` when more than one variant was found (two may start at one place).
        None when there is none."""
        starts_parts: list[np.ndarray] = []
        length_parts: list[np.ndarray] = []
        form_parts: list[np.ndarray] = []
        for form, unit in enumerate(units):
            for variant in phrase_variants(unit):
                pos = self._phrase(self.stream, self.stem_ids, variant, self.positions)
                if len(pos):
                    starts_parts.append(pos)
                    length_parts.append(np.full(len(pos), len(variant), dtype=np.int64))
                    # (forms are only read to explain an alternative: none without one)
                    form_parts.append(np.full(len(pos), form, dtype=np.int16) if with_forms else self._empty.forms)
        if not starts_parts:
            return None
        starts, lengths, forms = starts_parts[0], length_parts[0], form_parts[0]
        if len(starts_parts) > 1:
            order = np.argsort(np.concatenate(starts_parts), kind="stable")
            starts = np.concatenate(starts_parts)[order]
            lengths = np.concatenate(length_parts)[order]
            forms = np.concatenate(form_parts)[order] if with_forms else forms
        if title_only:
            keep = self.in_title[starts]
            starts, lengths = starts[keep], lengths[keep]
            forms = forms[keep] if with_forms else forms
            if not len(starts):
                return None
        return starts, lengths, forms, len(starts_parts) > 1

    def _bm25(self, starts: np.ndarray, *, several: bool, title_only: bool) -> tuple[np.ndarray, np.ndarray]:
        """The papers of the occurrences at ``starts`` (sorted) and their BM25 scores."""
        # Term frequency counts distinct start positions (two variants at one place are one hit).
        hit_pos = starts
        if several:
            first = np.ones(len(starts), dtype=bool)
            first[1:] = starts[1:] != starts[:-1]
            hit_pos = starts[first]
        doc_per_hit = self.doc_of[hit_pos]  # sorted, since positions are
        bounds = np.flatnonzero(doc_per_hit[1:] != doc_per_hit[:-1]) + 1
        first_index = np.concatenate(([0], bounds))
        docs = doc_per_hit[first_index]
        counts = np.diff(np.concatenate((first_index, [len(doc_per_hit)])))
        title_hits = np.add.reduceat(self.in_title[hit_pos].astype(np.float64), first_index)
        abstract_hits = 0.0 if title_only else counts - title_hits
        tf = TITLE_WEIGHT * title_hits + abstract_hits
        idf = _idf(len(docs), len(self.docs))
        return docs, idf * tf * (K1 + 1.0) / (tf + self.length_norm[docs])

    def _hits(
        self,
        docs: np.ndarray,
        scores: np.ndarray,
        starts: np.ndarray | None = None,
        lengths: np.ndarray | None = None,
        forms: np.ndarray | None = None,
        alternatives: tuple[tuple[Substitution, ...], ...] = (),
    ) -> TermHits:
        mask = np.zeros(len(self.docs), dtype=bool)
        mask[docs] = True
        if starts is None or lengths is None or forms is None:
            starts, lengths, forms = self._empty.starts, self._empty.lengths, self._empty.forms
        return TermHits(docs, scores, mask, starts, lengths, forms, alternatives)

    def positions_author(self, aid: int) -> np.ndarray:
        found = self._postings.get(-2 - aid)  # negative keys: author ids share the lazy cache
        if found is None:
            found = np.flatnonzero(self.author_stream == aid)
            self._postings[-2 - aid] = found
        return found

    @staticmethod
    def _phrase(stream: np.ndarray, ids: dict[str, int], unit: tuple[str, ...], positions) -> np.ndarray:
        """Start positions where the stems of ``unit`` appear in a row."""
        sids = [ids.get(s) for s in unit]
        if any(s is None for s in sids):
            return np.zeros(0, dtype=np.int64)
        pos = positions(sids[0])
        for k, sid in enumerate(sids[1:], start=1):
            if not len(pos):
                break
            # Every field ends with a sentinel, so pos + k stays inside the stream.
            pos = pos[stream[pos + k] == sid]
        return pos


def _tokenize_all(docs: list[PaperDoc]) -> list[bytes]:
    """All tokens of all papers: title, sentinel, abstract, sentinel, ...

    Equivalent to ``TOKEN_RE.findall(fold(text))`` per field, but done on one byte string: a regex
    pass over a day's abstracts costs several times more than a byte translation and a split.
    """
    fields: list[str] = []
    for doc in docs:
        fields.append(fold(doc.title))
        fields.append(fold(doc.abstract))
    sep = " \x01 "
    raw = np.frombuffer((sep.join(fields) + sep).encode().translate(_BYTE_TABLE), dtype=np.uint8).copy()
    # An apostrophe is part of a word only between two word characters ("model's", not "'quoted'").
    quotes = np.flatnonzero(raw == _APOSTROPHE)
    if len(quotes):
        wordish = (raw != _SPACE) & (raw != _APOSTROPHE) & (raw != 1)
        prev_ok = wordish[np.maximum(quotes - 1, 0)] & (quotes > 0)
        next_ok = wordish[np.minimum(quotes + 1, len(raw) - 1)] & (quotes + 1 < len(raw))
        raw[quotes[~(prev_ok & next_ok)]] = _SPACE
    return raw.tobytes().split()


def token_spans(text: str) -> list[tuple[int, int]]:
    """Character spans, in the original text, of the tokens the index sees in it."""
    folded = fold(text)
    spans = [m.span() for m in TOKEN_RE.finditer(folded)]
    origin = fold_offsets(text)
    if origin is None:
        return spans
    return [(origin[s], origin[e - 1] + 1) for s, e in spans]


__all__ = ["TEXT", "PaperIndex", "TermHits"]
