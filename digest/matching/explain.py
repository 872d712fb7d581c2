"""Reasons, highlight spans and snippets for the final top matches only.

Work is shared as much as the data allow: a Match object is shared by every subscriber who got the
same paper for the same interests, a reason by every (interest, paper) with the same matched words.
Which interests and words matched is worked out for all winners in a few vectorised passes.
Highlight spans and snippets are computed when first read (see ``_LazyMatch``), so the daily batch
only pays for the ones a digest renders, and they are cached per paper and words.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from .highlight import ELLIPSIS, Spans, merge_spans, snippet_window
from .index import PaperIndex, TermHits
from .query import TEXT, Query, Term
from .records import Match, Profile, Reason

_MAX_SLOTS = 64  # terms + joins of one query tracked in a uint64 bitmask (the parser allows fewer)


class _Terms:
    """A numbering of every term (and join) of the batch's queries."""

    def __init__(self, index: PaperIndex, queries: list[Query]) -> None:
        self.index = index
        ids: dict[Term, int] = {}
        self.terms: list[Term] = []
        slot_tix: list[int] = []
        slot_parts: list[tuple[int, int]] = []
        indptr = [0]

        def number(term: Term) -> int:
            tix = ids.get(term)
            if tix is None:
                tix = ids[term] = len(self.terms)
                self.terms.append(term)
            return tix

        for query in queries:
            slots = (query.terms + query.joins)[:_MAX_SLOTS]
            for term in slots:
                slot_tix.append(number(term))
                slot_parts.append((number(term.parts[0]), number(term.parts[1])) if term.parts else (-1, -1))
            indptr.append(len(slot_tix))
        self.slot_indptr = np.array(indptr, dtype=np.int64)
        self.slot_tix = np.array(slot_tix, dtype=np.int64)
        parts = np.array(slot_parts, dtype=np.int64).reshape(-1, 2)
        self.slot_a, self.slot_b = parts[:, 0], parts[:, 1]
        self.hits: list[TermHits] = [index.term_hits(t) for t in self.terms]
        ndocs = len(index)
        self.ndocs = ndocs
        # (term, paper) membership keys, sorted, for vectorised lookups.
        lengths = [len(h.docs) for h in self.hits]
        self.member_keys = np.repeat(np.arange(len(self.terms), dtype=np.int64), lengths) * ndocs + (
            np.concatenate([h.docs for h in self.hits]).astype(np.int64) if self.hits else np.zeros(0, np.int64)
        )

    def has(self, tix: np.ndarray, docs: np.ndarray) -> np.ndarray:
        if not len(self.member_keys):
            return np.zeros(len(tix), dtype=bool)
        wanted = tix * self.ndocs + docs
        at = np.minimum(np.searchsorted(self.member_keys, wanted), len(self.member_keys) - 1)
        return (self.member_keys[at] == wanted) & (tix >= 0)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of the given sizes: the segment of each element and its offset inside it."""
    owner = np.repeat(np.arange(len(counts)), counts)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, offset


class Highlighter:
    """Spans and snippets of one index's papers, computed on demand and cached.

    Shared by all the matches of one ``match_profiles`` call; thread-safe in the sense that a race
    only computes the same value twice.
    """

    def __init__(self, index: PaperIndex) -> None:
        self.index = index
        self.occurrences: dict[tuple[int, Term], tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        self.windows: dict[tuple[int, Term | None], tuple[int, int, str]] = {}
        self.results: dict[tuple[int, tuple[Term, ...]], tuple[Spans, str, Spans]] = {}

    def _occurrences(self, doc: int, term: Term) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(title spans, abstract spans) of one term in one paper, in original characters."""
        key = (doc, term)
        found = self.occurrences.get(key)
        if found is not None:
            return found
        index = self.index
        title: list[tuple[int, int]] = []
        abstract: list[tuple[int, int]] = []
        if term.field in (TEXT, "title"):
            index.ensure_offsets((doc,))
            hits = index.term_hits(term)
            lo, hi = np.searchsorted(hits.starts, (index.title_start[doc], index.doc_end[doc]))
            pos = hits.starts[lo:hi]
            starts = index.char_start[pos].tolist()
            ends = index.char_end[pos + hits.lengths[lo:hi] - 1].tolist()
            abstract_start = int(index.abstract_start[doc])
            for p, s, e in zip(pos.tolist(), starts, ends, strict=True):
                if s >= 0 and e >= 0:
                    (title if p < abstract_start else abstract).append((s, e))
        found = (title, abstract)
        self.occurrences[key] = found
        return found

    def spans(self, doc: int, terms: tuple[Term, ...]) -> tuple[Spans, str, Spans]:
        key = (doc, terms)
        found = self.results.get(key)
        if found is not None:
            return found
        title: list[tuple[int, int]] = []
        anchor: Term | None = None
        anchor_df = 0
        for term in terms:
            in_title, in_abstract = self._occurrences(doc, term)
            title += in_title
            df = len(self.index.term_hits(term).docs)
            if in_abstract and (anchor is None or df < anchor_df):  # the rarest word anchors the snippet
                anchor, anchor_df = term, df
        window = self.windows.get((doc, anchor))
        if window is None:
            first_hit = self._occurrences(doc, anchor)[1][0][0] if anchor is not None else 0
            window = snippet_window(self.index.docs[doc].abstract, first_hit)
            self.windows[(doc, anchor)] = window
        start, end, snippet = window
        shift = (len(ELLIPSIS) if start > 0 else 0) - start
        inside = [
            (s + shift, e + shift)
            for term in terms
            for s, e in self._occurrences(doc, term)[1]
            if s >= start and e <= end
        ]
        found = (merge_spans(title), snippet, merge_spans(inside))
        self.results[key] = found
        return found


class _LazyMatch(Match):
    """A Match whose spans and snippet are computed on first access (then kept).

    Behaves as a plain Match (same fields, equality, repr, pickles as a Match); the daily batch
    thereby pays for highlighting only for the matches something actually renders.
    """

    __slots__ = ("_doc", "_highlighter", "_spans", "_terms")

    def __init__(
        self, paper_key: int, score: float, reasons: tuple[Reason, ...], highlighter: Highlighter, doc: int, terms
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "paper_key", paper_key)
        setattr_(self, "score", score)
        setattr_(self, "reasons", reasons)
        setattr_(self, "_highlighter", highlighter)
        setattr_(self, "_doc", doc)
        setattr_(self, "_terms", terms)
        setattr_(self, "_spans", None)

    def _highlight(self) -> tuple[Spans, str, Spans]:
        spans = self._spans
        if spans is None:
            spans = self._highlighter.spans(self._doc, self._terms)
            object.__setattr__(self, "_spans", spans)
        return spans

    @property
    def title_spans(self) -> Spans:  # type: ignore[override]
        return self._highlight()[0]

    @property
    def snippet(self) -> str:  # type: ignore[override]
        return self._highlight()[1]

    @property
    def snippet_spans(self) -> Spans:  # type: ignore[override]
        return self._highlight()[2]

    def _fields(self) -> tuple:
        return (self.paper_key, self.score, self.reasons, self.title_spans, self.snippet, self.snippet_spans)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return self._fields() == (
            other.paper_key,
            other.score,
            other.reasons,
            other.title_spans,
            other.snippet,
            other.snippet_spans,
        )

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self):
        return (Match, self._fields())


def explain(
    index: PaperIndex,
    queries: list[Query],
    profiles: list[Profile],
    profile_q: np.ndarray,
    profile_q_indptr: np.ndarray,
    by_query_docs: list[np.ndarray],
    rows: np.ndarray,
    docs: np.ndarray,
    scores: np.ndarray,
) -> dict[int, list[Match]]:
    nq = len(queries)
    ndocs = len(index)
    docs64 = docs.astype(np.int64)

    # 1. Which of each winner's interests matched its paper (winners x the profile's interests).
    nint = np.diff(profile_q_indptr)
    pair_of, offset = _expand(nint[rows])
    cand_q = profile_q[profile_q_indptr[rows][pair_of] + offset].astype(np.int64)
    cand_d = docs64[pair_of]
    q_keys = np.repeat(np.arange(nq, dtype=np.int64), [len(d) for d in by_query_docs]) * ndocs + np.concatenate(
        by_query_docs
    ).astype(np.int64)
    wanted = cand_q * ndocs + cand_d
    at = np.minimum(np.searchsorted(q_keys, wanted), len(q_keys) - 1)
    hit = q_keys[at] == wanted
    hit_pair, hit_q, hit_d = pair_of[hit], cand_q[hit], cand_d[hit]
    nhits = np.bincount(hit_pair, minlength=len(rows))
    hit_start = np.concatenate(([0], np.cumsum(nhits)))

    # 2. Distinct (interest, paper) among the winners, and which of the interest's terms are present.
    qd, qd_first, qd_of_hit = np.unique(hit_q * ndocs + hit_d, return_index=True, return_inverse=True)
    qd_q, qd_d = hit_q[qd_first], hit_d[qd_first]
    terms = _Terms(index, queries)
    nslots = np.diff(terms.slot_indptr)[qd_q]
    owner, slot = _expand(nslots)
    flat = terms.slot_indptr[qd_q][owner] + slot
    d_of = qd_d[owner]
    present = terms.has(terms.slot_tix[flat], d_of) & ~(
        terms.has(terms.slot_a[flat], d_of) & terms.has(terms.slot_b[flat], d_of)
    )
    bits = np.where(present, np.left_shift(np.uint64(1), slot.astype(np.uint64)), np.uint64(0))
    masks = np.zeros(len(qd), dtype=np.uint64)
    np.add.at(masks, owner, bits)

    reason_cache: dict[tuple[int, int], tuple[Reason, tuple[Term, ...]]] = {}
    qd_reason: list[tuple[Reason, tuple[Term, ...]]] = []
    slot_indptr = terms.slot_indptr.tolist()
    slot_tix = terms.slot_tix.tolist()
    for q, mask in zip(qd_q.tolist(), masks.tolist(), strict=True):
        found = reason_cache.get((q, mask))
        if found is None:
            query = queries[q]
            slots = slot_tix[slot_indptr[q] : slot_indptr[q + 1]]
            chosen = [j for j in range(len(slots)) if mask >> j & 1]
            texts = tuple(dict.fromkeys(terms.terms[slots[j]].text for j in chosen))
            found = (Reason(query.text, texts), tuple(terms.terms[slots[j]] for j in chosen))
            reason_cache[(q, mask)] = found
        qd_reason.append(found)

    # 3. Signatures: (paper, matched interests).  Single-interest winners (the vast majority) are
    #    identified by their (interest, paper) number; the rest by a tuple.
    single = nhits == 1
    first_hit = hit_start[:-1]
    sig = np.where(single, qd_of_hit[np.minimum(first_hit, len(qd_of_hit) - 1)], -1 - np.arange(len(rows)))
    uniq, sig_first, sig_inverse = np.unique(sig, return_index=True, return_inverse=True)

    qd_of_hit_list = qd_of_hit.tolist()
    hit_start_list = hit_start.tolist()
    highlighter = Highlighter(index)
    keys = index.keys.tolist()
    score_list = scores.tolist()
    doc_list = docs.tolist()
    objects: list[Match] = []
    for s, at_row in zip(uniq.tolist(), sig_first.tolist(), strict=True):
        doc = doc_list[at_row]
        if s >= 0:
            reason, matched = qd_reason[s]
            reasons: tuple[Reason, ...] = (reason,)
        else:
            qds = qd_of_hit_list[hit_start_list[at_row] : hit_start_list[at_row + 1]]
            reasons = tuple(qd_reason[q][0] for q in qds)
            matched = tuple(dict.fromkeys(t for q in qds for t in qd_reason[q][1]))
        objects.append(_LazyMatch(keys[doc], score_list[at_row], reasons, highlighter, doc, matched))

    # 5. Per profile, best first (rows are grouped and ordered already).
    ordered = [objects[i] for i in sig_inverse.tolist()]
    bounds = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1], [True]))).tolist()
    row_list = rows.tolist()
    return {profiles[row_list[a]].key: ordered[a:b] for a, b in pairwise(bounds)}
