"""Papers like these: the day's papers most like each subscriber's library, with the reason why.

Pure Python over plain records (no ORM), like ``digest/matching``: the planner, the live preview,
``preview_query --like`` and the benchmarks all call :func:`libraries_match`.

How a day's paper is scored against a library (the "more like this" of search engines, for many
libraries at once):

1. **Words** (``words.py``): title (twice) and abstract, lower case, stop words out, plurals folded,
   plus pairs of neighbouring words (``concept bottleneck``): pairs carry most of a field's vocabulary.
2. **Weights.** A day's paper is weighted with BM25 (the engine's ranking function); a library paper
   with sublinear tf-idf, L2-normalised, as a query. The idf comes from the day's papers, so a word
   every paper uses says little.
3. **Neighbours.** For each distinct library paper (once, however many libraries hold it): the BM25
   score of every day's paper for it, of which its ``NEIGHBOURS`` best are kept, with their cosine
   similarity. A paper in none of a library's neighbour lists is not one to send.
4. **Per library** (with 64, 32 or 16 neighbours of each paper as the library has up to 6, up to 12
   or more papers: ``NEIGHBOUR_LEVELS``): the mean BM25 over the library's papers (the library's
   shared vocabulary counts most; one paper's odd title word little), divided by the library's
   best, plus ``MAX_WEIGHT`` times
   the library's closest single similarity (as an L8 norm of the cosines: close to the maximum, so a
   library spanning several fields still gets each field's nearest papers). Sparse (libraries x
   library papers) @ (library papers x day's papers) products score a block of libraries at once.
5. **Explain:** each kept paper names the library paper it is most like (and a second one when
   that is nearly as close).

:func:`digest.library.naive.library_match_naive` is the plain reference version (dicts and loops);
a property test checks the two agree.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from .records import Library, LibraryPaperDoc, LikeMatch
from .results import LibraryMatches
from .topk import csr_rows, top_per_row
from .vocabulary import HashedVocabulary
from .words import TermVector, term_counts, term_hash, term_vector

NEIGHBOURS = 64  # day's papers kept per library paper
# A library's top 10 come from near its papers; the more papers it has, the fewer neighbours each
# needs to contribute: up to 6 papers use all 64, up to 12 use 32, larger libraries 16.
NEIGHBOUR_LEVELS = ((6, 64), (12, 32), (None, 16))
QUERY_TERMS = 32  # a library paper is represented by its this many heaviest words
MAX_WEIGHT = 0.3  # share of the closest single similarity in a paper's score
MAX_NORM = 8  # the "closest similarity" is the L8 norm of the cosines (a smooth maximum)
MIN_SCORE = 0.05  # below this a paper is not "like" the library at all
SECOND_REASON = 0.8  # a second library paper is named when it is at least this similar
BM25_K1 = 1.2
BM25_B = 0.75
SCORE_DECIMALS = 6  # scores are rounded so equal-looking scores tie-break by paper key, visibly
_BLOCK = 8192  # libraries scored at a time (bounds memory)
_SEED_BLOCK = 4096  # library papers compared with the day at a time (bounds memory)
_DENSE_TABLE = 50_000_000  # (library papers x day's papers) cosines kept as a dense float32 table up to this


class LibraryIndex:
    """The day's papers, tokenised once, for any number of libraries."""

    def __init__(self, docs: Sequence[Any]) -> None:
        """``docs``: anything with ``key`` (int), ``title`` and ``abstract`` (a ``PaperDoc`` fits)."""
        self.keys = np.array([d.key for d in docs], dtype=np.int64)
        self.position = {int(key): i for i, key in enumerate(self.keys)}
        self.vocabulary: dict[str, int] = {}
        self.counts = [term_counts(d.title, d.abstract) for d in docs]
        self.abstracts = {int(d.key): d.abstract for d in docs}
        indptr, cols, vals = [0], [], []
        for counts in self.counts:
            for term, n in counts.items():
                cols.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                vals.append(n)
            indptr.append(len(cols))
        self.tf = sparse.csr_matrix(
            (np.array(vals, dtype=np.float64), np.array(cols, dtype=np.int64), np.array(indptr, dtype=np.int64)),
            shape=(len(docs), len(self.vocabulary)),
        )
        self.tf.sort_indices()
        self.df = np.bincount(self.tf.indices, minlength=len(self.vocabulary)).astype(np.float64)
        self.lengths = np.asarray(self.tf.sum(axis=1)).ravel()
        # The vocabulary by term hash, for looking up stored term vectors (words.TermVector).
        hashes = np.fromiter((term_hash(t) for t in self.vocabulary), dtype=np.int64, count=len(self.vocabulary))
        self.hashed = HashedVocabulary(hashes)

    @classmethod
    def build(cls, docs: Iterable[Any]) -> LibraryIndex:
        return cls(list(docs))

    def __len__(self) -> int:
        return len(self.keys)


# --------------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------------


def idf_weights(*, papers: int, df: np.ndarray) -> np.ndarray:
    """scikit-learn's smooth idf over the day's papers. Not over the library papers too: then one
    subscriber's digest would depend on which other libraries were matched in the same batch."""
    return np.log((papers + 1.0) / (df + 1.0)) + 1.0


def rare_idf(*, papers: int) -> float:
    """The idf of a word none of the day's papers has (it weighs in a library paper's length only)."""
    return math.log(papers + 1.0) + 1.0


def bm25_rows(index: LibraryIndex, idf: np.ndarray) -> sparse.csr_matrix:
    tf = index.tf.copy()
    avg = float(index.lengths.mean()) if len(index) else 1.0
    norm = np.repeat(BM25_K1 * (1 - BM25_B + BM25_B * index.lengths / avg), np.diff(tf.indptr))
    tf.data = tf.data * (BM25_K1 + 1) / (tf.data + norm)
    return (tf @ sparse.diags(idf)).tocsr()


def tfidf_rows(tf: sparse.csr_matrix, idf: np.ndarray, outside: np.ndarray | None = None) -> sparse.csr_matrix:
    """Sublinear tf-idf rows, L2-normalised; ``outside``: each row's squared weight of words not in ``tf``."""
    out = tf.copy()
    out.data = (1.0 + np.log(out.data)) * idf[out.indices]
    squared = np.asarray(out.multiply(out).sum(axis=1)).ravel()
    if outside is not None:
        squared = squared + outside
    scale = np.divide(1.0, np.sqrt(squared), out=np.zeros_like(squared), where=squared > 0)
    return (sparse.diags(scale) @ out).tocsr()


def _library_tf(
    index: LibraryIndex, docs: Sequence[LibraryPaperDoc]
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Library papers' term counts over the day's vocabulary (one vectorised lookup of their stored
    term hashes), and (row, count) of each of their words the day's papers do not have."""
    vectors: list[TermVector] = [d.terms if d.terms is not None else term_vector(d.title, d.abstract) for d in docs]
    lengths = np.fromiter((len(v.hashes) for v in vectors), dtype=np.int64, count=len(vectors))
    hashes = np.concatenate([v.hashes for v in vectors]) if vectors else np.zeros(0, np.int64)
    counts = np.concatenate([v.counts for v in vectors]) if vectors else np.zeros(0)
    rows = np.repeat(np.arange(len(vectors), dtype=np.int64), lengths)
    vocabulary = len(index.hashed)
    where, inside = index.hashed.find(hashes)
    # Each paper's entries are contiguous already: CSR directly (no COO sort); columns within a row are
    # left unsorted (nothing downstream needs them sorted, and a row's words are distinct).
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows[inside], minlength=len(docs)))))
    tf = sparse.csr_matrix((counts[inside], index.hashed.order[where[inside]], indptr), shape=(len(docs), vocabulary))
    return tf, rows[~inside], counts[~inside]


# --------------------------------------------------------------------------------------------------
# Neighbours of each library paper
# --------------------------------------------------------------------------------------------------


class _Neighbours:
    """For every library paper, its ``NEIGHBOURS`` best day's papers: BM25 score and cosine."""

    def __init__(self, index: LibraryIndex, docs: Sequence[LibraryPaperDoc]) -> None:
        tf, outside_rows, outside_counts = _library_tf(index, docs)
        idf = idf_weights(papers=len(index), df=index.df)
        rare = rare_idf(papers=len(index))
        extra = np.bincount(
            outside_rows, weights=((1.0 + np.log(outside_counts)) * rare) ** 2, minlength=len(docs)
        ).astype(np.float64)
        queries = query_terms(tfidf_rows(tf, idf, extra))
        # BM25 and cosine in one product: both come from the same words, so their entries coincide;
        # the real part of a complex matrix carries one, the imaginary part the other.
        both_t = (bm25_rows(index, idf) + 1j * tfidf_rows(index.tf, idf)).T.tocsr()
        n = len(index)
        parts = []
        for start in range(0, len(docs), _SEED_BLOCK):
            chunk = queries[start : start + _SEED_BLOCK]
            product = (chunk @ both_t).tocsr()
            rows = csr_rows(product)
            cols = product.indices.astype(np.int64)
            keep, _ = top_per_row(rows, cols, product.data.real, chunk.shape[0], np.full(chunk.shape[0], NEIGHBOURS))
            kept_rows = rows[keep]  # grouped by row, best first: the rank is the place in the group
            group = np.flatnonzero(np.concatenate(([True], kept_rows[1:] != kept_rows[:-1])))
            rank = np.arange(len(keep)) - np.repeat(group, np.diff(np.concatenate((group, [len(keep)]))))
            parts.append((kept_rows + start, cols[keep], product.data[keep], rank))
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        values = np.concatenate([p[2] for p in parts])
        self.rank = np.concatenate([p[3] for p in parts])
        shape = (len(docs), n)
        self.bm25 = sparse.csr_matrix((values.real, (rows, cols)), shape=shape)
        self.cosine = sparse.csr_matrix((values.imag, (rows, cols)), shape=shape)
        self.cosine.sort_indices()
        # Scored per library in one product too: the BM25 sum (real) and the sum of cosine^8 (imaginary).
        self._entries = (rows, cols, values.real + 1j * values.imag**MAX_NORM, shape)
        self._scoring: dict[int, sparse.csr_matrix] = {}
        # (library paper, day's paper) -> cosine, for explaining: a dense table while it is small, else
        # keys sorted as the CSR stores them.
        self.n = n
        self.table: np.ndarray | None = None
        if len(docs) * n <= _DENSE_TABLE:
            self.table = np.zeros(shape, dtype=np.float32)
            self.table[rows, cols] = values.imag
        self.pair_keys = csr_rows(self.cosine) * max(n, 1) + self.cosine.indices

    def scoring(self, neighbours: int) -> sparse.csr_matrix:
        """(library papers x day's papers): each library paper's ``neighbours`` best, as BM25 + i cos^8."""
        found = self._scoring.get(neighbours)
        if found is None:
            rows, cols, values, shape = self._entries
            near = self.rank < neighbours
            found = self._scoring[neighbours] = sparse.csr_matrix((values[near], (rows[near], cols[near])), shape=shape)
        return found

    def cosine_of(self, seeds: np.ndarray, papers: np.ndarray) -> np.ndarray:
        """The cosine of each (library paper, day's paper) pair; 0 where it is not a neighbour (a
        neighbour's cosine is above 0: it shares a word with the library paper)."""
        if self.table is not None:  # float32, as stored (one flat gather; the cast to float64 is exact)
            return self.table.ravel()[seeds * self.n + papers]  # < _DENSE_TABLE: fits 32-bit positions
        keys = seeds.astype(np.int64) * max(self.n, 1) + papers
        if not len(self.pair_keys):
            return np.zeros(len(keys))
        where = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
        return np.where(self.pair_keys[where] == keys, self.cosine.data[where], 0.0)


def query_terms(rows: sparse.csr_matrix, terms: int | None = None) -> sparse.csr_matrix:
    """Each row cut to its ``QUERY_TERMS`` heaviest words (ties: lower column), as "more like this"
    queries are: a paper's most distinctive words say what it is about; its long tail is noise."""
    terms = QUERY_TERMS if terms is None else terms
    # A block of rows at a time: fewer rows let top_per_row's histogram use finer buckets (all 20,000
    # library papers at once left ~90 candidates a row to sort for 32 kept; a block leaves ~40).
    kept: list[np.ndarray] = []
    for start in range(0, rows.shape[0], _SEED_BLOCK):
        lo, hi = rows.indptr[start], rows.indptr[min(start + _SEED_BLOCK, rows.shape[0])]
        sizes = np.diff(rows.indptr[start : start + _SEED_BLOCK + 1])
        row_of = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        cols = rows.indices[lo:hi].astype(np.int64)
        keep, _ = top_per_row(row_of, cols, rows.data[lo:hi], len(sizes), np.full(len(sizes), terms))
        kept.append(np.sort(keep) + lo)
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    # Kept in CSR order: each row's kept words are contiguous, so the CSR is built directly.
    counts = np.bincount(csr_rows(rows)[keep], minlength=rows.shape[0])
    indptr = np.concatenate(([0], np.cumsum(counts)))
    out = sparse.csr_matrix((rows.data[keep], rows.indices[keep], indptr), shape=rows.shape)
    out.sort_indices()
    return out


# --------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------


def libraries_match(
    index: LibraryIndex,
    papers: Mapping[str, LibraryPaperDoc] | Iterable[LibraryPaperDoc],
    libraries: Iterable[Library],
    *,
    stats: dict | None = None,
) -> LibraryMatches:
    """Each library's best ``limit`` papers of the day, best first (score desc, then paper key asc),
    each naming the library paper(s) it is most like; libraries with nothing alike are left out.

    ``papers``: the library papers the libraries name (keys it lacks are ignored). A day's paper in
    ``Library.exclude`` (the subscriber's own library papers, papers already sent) is never returned."""
    by_key = papers if isinstance(papers, Mapping) else {p.key: p for p in papers}
    libraries = list(libraries)
    stats = {} if stats is None else stats
    # One C-level union of the libraries' keys (shared by every library), then the known ones.
    named = set().union(*(lib.papers for lib in libraries)) if libraries and len(index) else set()
    used = sorted(named.intersection(by_key))
    seed_docs = [by_key[key] for key in used]
    empty = np.zeros(0, dtype=np.int64)
    if not used:
        return LibraryMatches(
            library_keys=[], starts={}, papers=empty, scores=np.zeros(0), first=empty, first_sim=np.zeros(0),
            second=empty, second_sim=np.zeros(0), seed_keys=[], seed_titles=[],
        )  # fmt: skip
    clock = time.process_time  # CPU seconds: on a shared machine the wall clock measures the neighbours
    mark = clock()
    neighbours = _Neighbours(index, seed_docs)
    stats["neighbours_s"] = clock() - mark
    mark = clock()
    row_of = _Rows(zip(used, itertools.count()))
    stats["library_papers"] = len(used)
    stats["neighbour_pairs"] = int(neighbours.bm25.nnz)
    members = _membership(libraries, row_of, len(used))
    levels = neighbours_for(np.diff(members.indptr))
    parts = []
    for level in np.unique(levels):
        chosen = np.flatnonzero(levels == level)
        scoring = neighbours.scoring(int(level))
        for first in range(0, len(chosen), _BLOCK):
            rows = chosen[first : first + _BLOCK]
            part = _match_block([libraries[i] for i in rows], members[rows], scoring, neighbours, index)
            parts.append((rows[part[0]], *part[1:]))
    stats["libraries_s"] = clock() - mark
    # Each library's matches are contiguous (libraries grouped by neighbour level, then in blocks): the
    # arrays stay in that order and ``starts`` says where each library's are (reads go by library key).
    if parts:
        lib_rows = np.concatenate([p[0] for p in parts])
        columns = [np.concatenate([p[k] for p in parts]) for k in range(1, 7)]
    else:
        lib_rows, columns = empty, [empty, np.zeros(0), empty, np.zeros(0), empty, np.zeros(0)]
    starts: dict[int, tuple[int, int]] = {}
    if len(lib_rows):
        bounds = np.flatnonzero(np.concatenate(([True], lib_rows[1:] != lib_rows[:-1], [True])))
        keys = [libraries[i].key for i in lib_rows[bounds[:-1]].tolist()]
        starts = dict(zip(keys, zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True), strict=True))
    stats["delivered_pairs"] = len(lib_rows)
    return LibraryMatches(
        library_keys=[lib.key for lib in libraries],
        starts=starts,
        papers=index.keys[columns[0]],
        scores=columns[1],
        first=columns[2],
        first_sim=columns[3],
        second=columns[4],
        second_sim=columns[5],
        seed_keys=used,
        seed_titles=[d.title for d in seed_docs],
    )


def neighbours_for(sizes: np.ndarray) -> np.ndarray:
    """How many neighbours of each of its papers a library of each size uses (``NEIGHBOUR_LEVELS``)."""
    out = np.full(len(sizes), NEIGHBOUR_LEVELS[-1][1], dtype=np.int64)
    for most, neighbours in reversed(NEIGHBOUR_LEVELS[:-1]):
        out[sizes <= most] = neighbours
    return out


class _Rows(dict):
    """Library paper key -> row; a key no library paper has is -1 (a C-level lookup, no default argument)."""

    def __missing__(self, key: str) -> int:
        return -1


def _membership(block: Sequence[Library], row_of: Mapping[str, int], nseeds: int) -> sparse.csr_matrix:
    """(libraries x library papers), each row's papers once and in ascending order."""
    sizes = [len(lib.papers) for lib in block]
    keys = itertools.chain.from_iterable(lib.papers for lib in block)
    lookup = row_of.__getitem__ if isinstance(row_of, _Rows) else (lambda key: row_of.get(key, -1))
    flat = np.fromiter(map(lookup, keys), dtype=np.int64, count=sum(sizes))
    owner = np.repeat(np.arange(len(block), dtype=np.int64), sizes)
    known = flat >= 0
    indptr = np.concatenate(([0], np.cumsum(np.bincount(owner[known], minlength=len(block)))))
    members = sparse.csr_matrix((np.ones(int(known.sum())), flat[known], indptr), shape=(len(block), nseeds))
    members.sum_duplicates()  # each row's papers sorted (per row, not one global sort) and merged ...
    members.data[:] = 1.0  # ... once each
    return members


def _match_block(
    block: Sequence[Library],
    members: sparse.csr_matrix,
    scoring: sparse.csr_matrix,
    nb: _Neighbours,
    index: LibraryIndex,
) -> tuple[np.ndarray, ...]:
    """(library row, paper position, score, best seed, its cosine, second seed or -1, its cosine)."""
    sizes = np.diff(members.indptr).astype(np.float64)
    product = (members @ scoring).tocsr()
    rows = csr_rows(product)
    cols = product.indices
    mean = product.data.real / sizes[rows]
    filled = np.flatnonzero(np.diff(product.indptr))
    best = np.ones(len(block))
    if len(filled):
        best[filled] = np.maximum.reduceat(mean, product.indptr[filled])
    # The L8 norm's eighth root as three square roots (several times faster than a power); in place,
    # as mean / best + MAX_WEIGHT * closest (the same operations: bit for bit the same scores).
    closest = np.maximum(product.data.imag, 0.0)
    for _ in range(3):
        np.sqrt(closest, out=closest)
    closest *= MAX_WEIGHT
    score = mean
    score /= best[rows]
    score += closest
    excluded = [(r, index.position[k]) for r, lib in enumerate(block) for k in lib.exclude if k in index.position]
    if excluded:
        pair = np.array([r * len(index) + c for r, c in excluded], dtype=np.int64)
        keep = ~np.isin(rows * len(index) + cols, pair)
        rows, cols, score = rows[keep], cols[keep], score[keep]
    limits = np.array([max(1, lib.limit) for lib in block], dtype=np.int64)
    top, rounded = top_per_row(rows, cols, score, len(block), limits, decimals=SCORE_DECIMALS)
    # Below MIN_SCORE a paper is not like the library. Filtering the top entries rather than all of
    # them gives the same result (those entries rank below every one above it) for far less work.
    like = score[top] >= MIN_SCORE
    top, score = top[like], rounded[like]
    rows, cols = rows[top], cols[top].astype(np.int64)
    return (rows, cols, score, *_explain_some(block, rows, cols, members, nb, index))


def _explain_some(
    block: Sequence[Library],
    rows: np.ndarray,
    cols: np.ndarray,
    members: sparse.csr_matrix,
    nb: _Neighbours,
    index: LibraryIndex,
) -> tuple[np.ndarray, ...]:
    """:func:`_explain` for the entries each library wants explained (``Library.shown``, ``explain_also``;
    ``rows`` grouped by library, best first); the others get seed -1 (explaining is the costly part)."""
    shown = np.array([lib.shown for lib in block], dtype=np.int64)
    if not (shown > 0).any() or not len(rows):
        return _explain(rows, cols, members, nb)
    group = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    rank = np.arange(len(rows)) - np.repeat(group, np.diff(np.concatenate((group, [len(rows)]))))
    wanted = (shown[rows] == 0) | (rank < shown[rows])
    also = [(r, index.position[k]) for r, lib in enumerate(block) for k in lib.explain_also if k in index.position]
    if also:
        pair = np.array([r * len(index) + c for r, c in also], dtype=np.int64)
        wanted |= np.isin(rows * len(index) + cols, pair)
    chosen = np.flatnonzero(wanted)
    first, first_sim, second, second_sim = _explain(rows[chosen], cols[chosen], members, nb)
    out_first = np.full(len(rows), -1, dtype=np.int64)
    out_second = np.full(len(rows), -1, dtype=np.int64)
    out_first_sim, out_second_sim = np.zeros(len(rows)), np.zeros(len(rows))
    out_first[chosen], out_first_sim[chosen], out_second[chosen], out_second_sim[chosen] = (
        first,
        first_sim,
        second,
        second_sim,
    )
    return out_first, out_first_sim, out_second, out_second_sim


def _explain(rows: np.ndarray, cols: np.ndarray, members: sparse.csr_matrix, nb: _Neighbours) -> tuple[np.ndarray, ...]:
    """For each (library, paper): its most similar library paper among those it is a neighbour of,
    and the next one when at least ``SECOND_REASON`` as similar (ties: the earlier library paper)."""
    if not len(rows):
        none = np.zeros(0, dtype=np.int64)
        return none, np.zeros(0), none, np.zeros(0)
    counts = np.diff(members.indptr)[rows]
    ends = np.cumsum(counts)
    starts = ends - counts
    # One (entry, library paper) triple per library paper of each entry's library: ~25 million for the
    # best 10 of 100,000 libraries, so 32-bit positions while they fit (half the memory traffic).
    width = np.int32 if ends[-1] < 2**31 else np.int64
    # Each entry's library papers: (its library's first place in ``members.indices``) + 0, 1, 2, ...
    place = np.repeat((members.indptr[rows] - starts).astype(width), counts)
    place += np.arange(int(ends[-1]), dtype=width)
    seed = members.indices[place]
    sims = nb.cosine_of(seed, np.repeat(cols.astype(width), counts))
    first, first_sim = _group_best(sims, starts, counts)
    sims[first] = -1.0
    second, second_sim = _group_best(sims, starts, counts)
    first_sim, second_sim = first_sim.astype(np.float64), second_sim.astype(np.float64)
    second_ok = (counts > 1) & (second_sim > 0) & (second_sim >= SECOND_REASON * first_sim)
    return (
        seed[first].astype(np.int64),
        first_sim,
        np.where(second_ok, seed[second], -1).astype(np.int64),
        np.where(second_ok, second_sim, 0.0),
    )


def _group_best(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position and value of each group's largest value (groups: contiguous, non-empty; ties: first)."""
    best = np.maximum.reduceat(values, starts)
    hits = np.flatnonzero(values == np.repeat(best, counts))
    return hits[np.searchsorted(hits, starts)], best  # each group's first hit: at or after its start


def library_match(
    index: LibraryIndex, papers: Iterable[LibraryPaperDoc], *, limit: int = 10, exclude: Iterable[int] = ()
) -> list[LikeMatch]:
    """One library's matches (the live preview and ``preview_query --like``)."""
    docs = list(papers)
    library = Library(key=0, papers=tuple(p.key for p in docs), limit=limit, exclude=frozenset(exclude))
    return libraries_match(index, docs, [library]).get(0, [])
