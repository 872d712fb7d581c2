"""Matching and ranking: the day's subscribers against the day's index in one pass.

1. Compile: every distinct interest string is parsed once, however many subscribers share it.
2. Evaluate: each distinct query runs once against the index (terms are cached across queries),
   giving the papers it matches and a score per paper (BM25 over the day's papers, title hits
   weighted up, plus a bonus where bare words written side by side appear side by side).
3. Combine: a sparse (subscribers x queries) @ (queries x papers) product sums, for every
   subscriber, the scores of their interests that matched each paper; muted words subtract the paper
   out; a small popularity boost multiplies the result.  No Python loop over subscriber x paper.
4. Rank: per subscriber keep the top ``limit`` (score desc, then paper key asc), vectorised.
5. Explain: reasons, highlight spans and snippets exist only for those top matches, and are worked
   out when a match is first read (see the explain package), with caches shared between subscribers.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .explain import explain
from .index import PaperIndex
from .query import All, Node, Query, QueryError, Term, muted_term, parse_query
from .records import Match, PaperDoc, Profile

logger = logging.getLogger(__name__)

ADJACENCY_WEIGHT = 0.5  # share of the phrase's own score added when bare words appear side by side
MAX_LIMIT = 10_000
_MUTE_PENALTY = 1e12
_BLOCK = 8192  # profiles combined and ranked at a time (bounds memory at ~100 MB per block)
_GC_PAUSE_FROM = 1000  # profiles; the live preview (one profile) leaves the collector alone
EVALUATED_KEPT = 100_000  # interests' evaluations an index keeps (a few KB each at most)
_HIST_CELLS = 32_000_000  # cells of the per-row score histogram that prefilters the top-n sort
_SCORE_DECIMALS = 6  # scores are rounded so equal-looking scores tie-break by key, visibly


class _Batch:
    """Per-call state: compiled queries and their results against one index."""

    def __init__(self, index: PaperIndex) -> None:
        self.index = index
        self.query_ids: dict[str, int] = {}
        self.queries: list[Query] = []
        self.muted_ids: dict[str, int] = {}
        self.muted: list[Term] = []

    def query_id(self, text: str, *, strict: bool) -> int:
        return self._intern(text, self.query_ids, self.queries, self.parse, "an interest that does not parse", strict)

    def parse(self, text: str) -> Query:
        """Parse with the index's acronym table (bare words spelling out a long form match the acronym);
        kept on the index by text, so a later call on it (the planner's next shard) parses only new ones."""
        cache = self.index.parsed
        found = cache.get(text)
        if found is None:
            if len(cache) >= EVALUATED_KEPT:
                cache.clear()
            found = cache[text] = parse_query(text, acronyms=self.index.acronyms)
        return found

    def muted_id(self, text: str, *, strict: bool) -> int:
        return self._intern(text, self.muted_ids, self.muted, muted_term, "a muted word that is not valid", strict)

    @staticmethod
    def _intern(text: str, ids: dict[str, int], items: list, parse, what: str, strict: bool) -> int:
        """Parse ``text`` once per run, however many subscribers share it; -1 marks one that does not parse."""
        item_id = ids.get(text)
        if item_id is None:
            try:
                items.append(parse(text))
                item_id = len(items) - 1
            except QueryError:
                if strict:
                    raise
                logger.warning("skipping %s: %r", what, text)
                item_id = -1
            ids[text] = item_id
        return item_id

    def mask(self, node: Node) -> np.ndarray:
        if isinstance(node, Term):
            return self.index.term_hits(node).mask
        if isinstance(node, All):
            out = self.mask(node.positive[0]).copy()
            for child in node.positive[1:]:
                out &= self.mask(child)
            for child in node.negative:
                out &= ~self.mask(child)
            return out
        out = self.mask(node.items[0]).copy()
        for child in node.items[1:]:
            out |= self.mask(child)
        return out

    def evaluate(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        """Indexes of the papers a query matches and its score for each (kept on the index by the
        query's text: the same text parses to the same query against the same index)."""
        cache = self.index.evaluated
        found = cache.get(query.text)
        if found is None:
            if len(cache) >= EVALUATED_KEPT:
                cache.clear()  # bounded: a long-lived index (the preview's) starts again
            found = cache[query.text] = self._evaluate(query)
        return found

    def _evaluate(self, query: Query) -> tuple[np.ndarray, np.ndarray]:
        docs = np.flatnonzero(self.mask(query.root))
        if not len(docs):
            return docs.astype(np.int32), np.zeros(0)
        acc = np.zeros(len(self.index))
        for term in query.terms:
            hits = self.index.term_hits(term)
            acc[hits.docs] += hits.scores
        for join in query.joins:
            hits = self.index.term_hits(join)
            # Only where the words are not all there on their own (no double counting).
            together = np.logical_and.reduce([self.index.term_hits(part).mask for part in join.parts])
            alone = ~together[hits.docs]
            acc[hits.docs[alone]] += hits.scores[alone]
        for a, b in query.adjacent:
            hits = self.index.term_hits(Term(a.field, a.unit + b.unit, f"{a.text} {b.text}"))
            acc[hits.docs] += ADJACENCY_WEIGHT * hits.scores
        return docs.astype(np.int32), acc[docs]


def _stems_in(queries: list[Query], muted: list[Term]) -> int:
    seen: set[str] = set()
    for query in queries:
        for term in query.terms:
            seen.update(term.unit)
    for term in muted:
        seen.update(term.unit)
    return len(seen)


def _dedupe_rows(flat: list[int], counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style (ids, indptr) with repeated ids inside a row dropped, first occurrence kept."""
    ids = np.array(flat, dtype=np.int32)
    indptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    if not len(ids):
        return ids, indptr
    row = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    _, first = np.unique(row * (int(ids.max()) + 1) + ids, return_index=True)
    if len(first) == len(ids):
        return ids, indptr
    keep = np.zeros(len(ids), dtype=bool)
    keep[first] = True
    kept_before = np.concatenate(([0], np.cumsum(keep)))
    return ids[keep], kept_before[indptr].astype(np.int64)


def _csr(rows: list[np.ndarray], values: list[np.ndarray] | None, ncols: int) -> sparse.csr_matrix:
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    indices = np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, np.int32)
    data = np.concatenate(values) if values else np.ones(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), ncols))


def match_profiles(
    index: PaperIndex, profiles: Iterable[Profile], *, strict: bool = False, stats: dict | None = None
) -> dict[int, list[Match]]:
    """Each profile's top matches, best first; profiles without any match are left out.

    Interests or muted words that do not parse are skipped (and logged) so one bad row cannot stop
    the daily run; ``strict=True`` raises :class:`QueryError` instead (the live preview uses it).
    ``stats``, when given, is filled with counts and per-phase CPU seconds (for the benchmark).

    The returned Matches explain themselves (reasons, spans, snippet) when first read, and keep a
    reference to this batch's index until then: drop them when the digests are built.
    """
    # The batch allocates about a million small objects and frees none of them: the cyclic garbage
    # collector would rescan the growing heap again and again for nothing.
    profiles = list(profiles)
    if len(profiles) < _GC_PAUSE_FROM:
        return _match_profiles(index, profiles, strict=strict, stats=stats)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _match_profiles(index, profiles, strict=strict, stats=stats)
    finally:
        if enabled:
            gc.enable()


def _match_profiles(
    index: PaperIndex, profiles: list[Profile], *, strict: bool, stats: dict | None
) -> dict[int, list[Match]]:
    stats = {} if stats is None else stats
    if len(index) == 0 or not profiles:
        return {}
    batch = _Batch(index)
    compiled = _compile_profiles(batch, profiles, strict=strict, stats=stats)
    if not batch.queries:
        return {}
    q_docs, by_query = _evaluate_queries(batch, stats)
    rows, docs, scores = _combine_and_rank(batch, profiles, compiled, by_query, stats)
    if not len(rows):
        return {}
    # 5. Explain the winners.
    mark = _clock()
    profile_q, profile_q_indptr = compiled.interests
    result = explain(index, batch.queries, profiles, profile_q, profile_q_indptr, q_docs, rows, docs, scores)
    stats["explain_s"] = _clock() - mark
    stats["delivered_pairs"] = len(rows)
    return result


_clock = time.process_time  # CPU seconds: on a shared machine the wall clock measures the neighbours


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Per profile, the ids of its distinct interests and muted words, CSR-style (ids, indptr)."""

    interests: tuple[np.ndarray, np.ndarray]
    muted: tuple[np.ndarray, np.ndarray]


def _compile_profiles(batch: _Batch, profiles: list[Profile], *, strict: bool, stats: dict) -> _Compiled:
    """1. Compile (identical interest strings shared).  The loop only looks strings up; each
    distinct string is parsed once, on first sight."""
    started = _clock()
    q_flat: list[int] = []
    q_count: list[int] = []
    m_flat: list[int] = []
    m_count: list[int] = []
    known_q, known_m = batch.query_ids.get, batch.muted_ids.get
    for profile in profiles:
        before = len(q_flat)
        for text in profile.interests:
            qid = known_q(text)
            if qid is None:
                qid = batch.query_id(text, strict=strict)
            if qid >= 0:
                q_flat.append(qid)
        q_count.append(len(q_flat) - before)
        before = len(m_flat)
        for text in profile.muted:
            mid = known_m(text)
            if mid is None:
                mid = batch.muted_id(text, strict=strict)
            if mid >= 0:
                m_flat.append(mid)
        m_count.append(len(m_flat) - before)
    compiled = _Compiled(_dedupe_rows(q_flat, q_count), _dedupe_rows(m_flat, m_count))
    stats["distinct_queries"] = len(batch.queries)
    stats["distinct_muted"] = len(batch.muted)
    stats["compile_s"] = _clock() - started
    return compiled


def _evaluate_queries(batch: _Batch, stats: dict) -> tuple[list[np.ndarray], sparse.csr_matrix]:
    """2. Evaluate each distinct query once: the papers each matches, and a (queries x papers)
    score matrix with the popularity boost applied."""
    mark = _clock()
    index = batch.index
    index.prepare_postings(_stems_in(batch.queries, batch.muted))
    results = [batch.evaluate(q) for q in batch.queries]
    q_docs = [r[0] for r in results]
    by_query = _csr(q_docs, [r[1] for r in results], len(index))
    # The popularity boost multiplies a paper's total, so it can multiply each query's score instead
    # (a million entries rather than tens of millions of subscriber-paper pairs).
    by_query.data *= index.popularity_factor[by_query.indices]
    stats["evaluate_s"] = _clock() - mark
    return q_docs, by_query


def _combine_and_rank(
    batch: _Batch, profiles: list[Profile], compiled: _Compiled, by_query: sparse.csr_matrix, stats: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3 + 4. Combine per profile (sum of the matching interests' scores; muted papers pushed below
    zero) and rank, a block of profiles at a time so memory stays bounded however many there are.
    Returns (profile row, paper index, score) of every winner, rows ascending, best first."""
    index = batch.index
    ndocs = len(index)
    profile_q, profile_q_indptr = compiled.interests
    interests = sparse.csr_matrix(
        (np.ones(len(profile_q)), profile_q, profile_q_indptr), shape=(len(profiles), len(batch.queries))
    )
    mutes = per_mute = None
    if batch.muted:
        muted_ids, muted_indptr = compiled.muted
        per_mute = _csr([index.term_hits(t).docs for t in batch.muted], None, ndocs)
        mutes = sparse.csr_matrix(
            (np.ones(len(muted_ids)), muted_ids, muted_indptr), shape=(len(profiles), len(batch.muted))
        )
    limits = np.array([max(1, min(p.limit, MAX_LIMIT)) for p in profiles], dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    candidates = 0
    combine_s = rank_s = 0.0
    for first in range(0, len(profiles), _BLOCK):
        last = min(first + _BLOCK, len(profiles))
        mark = _clock()
        combined = (interests[first:last] @ by_query).tocsr()
        if mutes is not None:
            combined = (combined - _MUTE_PENALTY * (mutes[first:last] @ per_mute)).tocsr()
        combine_s += _clock() - mark
        mark = _clock()
        rows, docs, scores, found = _top_n(combined, index, limits[first:last])
        parts.append((rows + first, docs, scores))
        candidates += found
        rank_s += _clock() - mark
    stats["combine_s"] = combine_s
    stats["candidate_pairs"] = candidates
    stats["rank_s"] = rank_s
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]


def _top_n(
    combined: sparse.csr_matrix, index: PaperIndex, limits: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(row, paper, score) of each row's best ``limit`` entries, rows ascending, best first, and the
    number of (row, paper) pairs that matched at all."""
    nrows = combined.shape[0]
    row_of = np.repeat(np.arange(nrows, dtype=np.int32), np.diff(combined.indptr))
    docs = combined.indices
    scores = combined.data
    if (scores <= 0).any():  # muted papers
        keep = scores > 0
        row_of, docs, scores = row_of[keep], docs[keep], scores[keep]
    candidates = len(scores)
    if not candidates:
        return row_of, docs, scores, 0
    limit = limits

    # Prefilter cheaply before sorting: within a row, an entry scoring below the row's limit-th
    # best can go.  Bucket the scores; keep the buckets down to the one that reaches the limit, plus
    # one more so the rounding below cannot create a tie with a dropped entry.  Exact.
    # The bits of a positive float32 sort like the number: the top bits (exponent and 5 bits of
    # mantissa) are a monotonic bucket, no logarithm needed.
    bucket = scores.astype(np.float32).view(np.int32) >> 18
    bucket -= bucket.min()
    nb = int(bucket.max()) + 1
    while nb * nrows > _HIST_CELLS:
        bucket >>= 1
        nb = int(bucket.max()) + 1
    hist = np.bincount(row_of.astype(np.int64) * nb + bucket, minlength=nrows * nb).reshape(nrows, nb)
    from_top = np.cumsum(hist[:, ::-1], axis=1)
    reach = np.argmax(from_top >= limit[:, None], axis=1)  # first bucket (from the top) reaching limit
    threshold = nb - 2 - reach
    threshold[from_top[:, -1] < limit] = 0
    keep = bucket >= threshold[row_of]
    row_of, docs = row_of[keep], docs[keep]
    scores = np.round(scores[keep], _SCORE_DECIMALS)

    # Papers are stored in key order, so ascending paper index is ascending key.
    order = np.lexsort((docs, -scores, row_of))
    row_of, docs, scores = row_of[order], docs[order], scores[order]
    starts = np.flatnonzero(np.concatenate(([True], row_of[1:] != row_of[:-1])))
    first = np.repeat(starts, np.diff(np.concatenate((starts, [len(row_of)]))))
    keep = (np.arange(len(row_of)) - first) < limit[row_of]
    return row_of[keep], docs[keep], scores[keep], candidates


def match_profile(index: PaperIndex, profile: Profile) -> list[Match]:
    """One profile's matches (the live preview); raises :class:`QueryError` on a bad interest."""
    return match_profiles(index, [profile], strict=True).get(profile.key, [])


__all__ = ["PaperDoc", "match_profile", "match_profiles"]
