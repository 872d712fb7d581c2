"""Papers like these: the day's papers most like each subscriber's library, with the reason why.

Pure Python over plain records (no ORM), like ``digest/matching``: the planner, the live preview,
``preview_query --like`` and the benchmarks all call :func:`libraries_match`.

How a paper is scored against a library (the classic "more like this" of search engines, done for
many libraries at once):

1. **Words.** Title (counted twice: it says what a paper is about most densely) and abstract become
   lower-case words without stop words, plurals folded (``models`` ~ ``model``), plus the pairs of
   neighbouring words (``concept bottleneck``): pairs carry most of a field's vocabulary.
2. **Weights.** The day's papers are weighted with BM25 (the engine's ranking function), a library
   paper with sublinear tf-idf, L2-normalised; the idf comes from the day's papers and the library
   papers together, so a word every paper uses says little.
3. **Per library paper** (once per distinct paper, however many libraries hold it): its BM25 score
   against each of the day's papers, and its cosine similarity to each. Only its ``NEIGHBOURS`` best
   papers are kept: a paper far down every one of a library's lists is not one to send.
4. **Per library:** a paper's score is the mean of its scores over the library's papers (the
   library's common vocabulary counts most; one paper's odd title word counts little), scaled to the
   library's best paper, plus ``MAX_WEIGHT`` times its best cosine similarity to any single library
   paper (a library that spans several fields still gets each field's closest papers). A sparse
   (libraries x library papers) @ (library papers x day's papers) product does all libraries at once.
5. **Explain:** each paper kept says which library paper(s) it is most like.

:func:`library_match_naive` is the plain reference version (dicts and loops, one library at a time);
a property test checks the two agree.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

TITLE_WEIGHT = 2
NEIGHBOURS = 64  # day's papers kept per library paper
MAX_WEIGHT = 0.3  # share of the best single-paper similarity in a paper's score
MIN_SCORE = 0.05  # below this (on the 0..1.3 scale) a paper is not "like" the library at all
SECOND_REASON = 0.8  # a second library paper is named when it is at least this similar
BM25_K1 = 1.2
BM25_B = 0.75
_BLOCK = 8192  # libraries combined at a time (bounds memory)
_SCORE_DECIMALS = 6

_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*[a-z0-9]|[a-z]")
_STOP = frozenset(ENGLISH_STOP_WORDS)


@dataclass(frozen=True, slots=True)
class LibraryPaperDoc:
    """One paper of somebody's library, as the matcher sees it."""

    key: str  # stable: "arxiv:2001.08361", "doi:10.1/x", "title:<title key>", "paper:<id>"
    title: str
    abstract: str = ""


@dataclass(frozen=True, slots=True)
class Library:
    """One subscriber's library: the keys of its papers (see :class:`LibraryPaperDoc`)."""

    key: int  # subscription id
    papers: tuple[str, ...]
    limit: int = 10
    exclude: frozenset[int] = frozenset()  # day's paper keys never to return (already sent ...)


@dataclass(frozen=True, slots=True)
class Resemblance:
    """A library paper a day's paper is like, and how alike (cosine similarity, 0..1)."""

    key: str
    title: str
    similarity: float

    @property
    def text(self) -> str:
        return f"like ‘{self.title}’, from your library"


@dataclass(frozen=True, slots=True)
class LikeMatch:
    paper_key: int
    score: float  # 0 .. 1 + MAX_WEIGHT
    like: tuple[Resemblance, ...]  # best first; one or two


# --------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Single words and neighbouring pairs (stop words dropped first, as arxiv-sanity does)."""
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    single = [_fold(w) for w in _WORD.findall(plain) if w not in _STOP]
    return single + [f"{a} {b}" for a, b in zip(single, single[1:], strict=False)]


def term_counts(title: str, abstract: str) -> Counter[str]:
    counts = Counter(words(abstract))
    for _ in range(TITLE_WEIGHT):
        counts.update(words(title))
    return counts


# --------------------------------------------------------------------------------------------------
# The day's papers
# --------------------------------------------------------------------------------------------------


class LibraryIndex:
    """The day's papers, tokenised once, scored against any number of libraries."""

    def __init__(self, docs: Sequence) -> None:
        """``docs``: anything with ``key``, ``title`` and ``abstract`` (a ``PaperDoc`` fits)."""
        self.keys: list[int] = [d.key for d in docs]
        self.position = {key: i for i, key in enumerate(self.keys)}
        self.vocabulary: dict[str, int] = {}
        self.counts = [term_counts(d.title, d.abstract) for d in docs]
        rows, cols, vals = [], [], []
        for i, counts in enumerate(self.counts):
            for term, n in counts.items():
                rows.append(i)
                cols.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                vals.append(n)
        self.tf = sparse.csr_matrix(
            (np.array(vals, dtype=np.float64), (rows, cols)), shape=(len(self.keys), len(self.vocabulary))
        )
        self.df = np.bincount(self.tf.indices, minlength=len(self.vocabulary)).astype(np.float64)
        self.lengths = np.asarray(self.tf.sum(axis=1)).ravel()

    @classmethod
    def build(cls, docs: Iterable) -> LibraryIndex:
        return cls(list(docs))

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class _Seeds:
    """The distinct library papers of one call, as rows of weights over the index's vocabulary."""

    keys: list[str]
    titles: list[str]
    row: dict[str, int] = field(default_factory=dict)


def _idf(index: LibraryIndex, seed_df: np.ndarray, n_seeds: int) -> np.ndarray:
    n = len(index) + n_seeds
    return np.log((n + 1.0) / (index.df + seed_df + 1.0)) + 1.0


def _bm25(index: LibraryIndex, idf: np.ndarray) -> sparse.csr_matrix:
    tf = index.tf.copy()
    avg = float(index.lengths.mean()) if len(index) else 1.0
    norm = np.repeat(BM25_K1 * (1 - BM25_B + BM25_B * index.lengths / avg), np.diff(tf.indptr))
    tf.data = tf.data * (BM25_K1 + 1) / (tf.data + norm)
    return (tf @ sparse.diags(idf)).tocsr()


def _tfidf_rows(tf: sparse.csr_matrix, idf: np.ndarray, extra_norm: np.ndarray | None = None) -> sparse.csr_matrix:
    """Sublinear tf-idf rows, L2-normalised (``extra_norm``: squared weight of terms outside the vocabulary)."""
    out = tf.copy()
    out.data = (1.0 + np.log(out.data)) * idf[out.indices]
    squared = np.asarray(out.multiply(out).sum(axis=1)).ravel()
    if extra_norm is not None:
        squared = squared + extra_norm
    scale = np.divide(1.0, np.sqrt(squared), out=np.zeros_like(squared), where=squared > 0)
    return (sparse.diags(scale) @ out).tocsr()


def _seed_matrix(
    index: LibraryIndex, seeds: Sequence[LibraryPaperDoc]
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """(tf over the index's vocabulary, df of those terms among the seeds, squared weight outside)."""
    vocab = index.vocabulary
    rows, cols, vals = [], [], []
    outside: list[Counter[str]] = []
    for i, seed in enumerate(seeds):
        other: Counter[str] = Counter()
        for term, n in term_counts(seed.title, seed.abstract).items():
            col = vocab.get(term)
            if col is None:
                other[term] = n
            else:
                rows.append(i)
                cols.append(col)
                vals.append(n)
        outside.append(other)
    tf = sparse.csr_matrix((np.array(vals, dtype=np.float64), (rows, cols)), shape=(len(seeds), len(vocab)))
    seed_df = np.bincount(tf.indices, minlength=len(vocab)).astype(np.float64)
    # A word no paper of the day has: as rare as a word can be among them.
    rare_idf = math.log((len(index) + len(seeds) + 1.0) / 2.0) + 1.0
    extra = np.array(
        [sum(((1.0 + math.log(n)) * rare_idf) ** 2 for n in other.values()) for other in outside], dtype=np.float64
    )
    return tf, seed_df, extra


def _keep_best(matrix: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Each row's ``k`` largest entries (ties: lower column first), vectorised."""
    matrix = matrix.tocsr()
    matrix.eliminate_zeros()
    counts = np.diff(matrix.indptr)
    if not len(counts) or counts.max(initial=0) <= k:
        return matrix
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    starts = np.repeat(matrix.indptr[:-1], counts)
    keep_sorted = (np.arange(len(order)) - starts) < k
    keep = np.zeros(len(order), dtype=bool)
    keep[order[keep_sorted]] = True
    kept_rows = rows[keep]
    return sparse.csr_matrix(
        (
            matrix.data[keep],
            matrix.indices[keep],
            np.concatenate(([0], np.cumsum(np.bincount(kept_rows, minlength=matrix.shape[0])))),
        ),
        shape=matrix.shape,
    )


# --------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------


def libraries_match(
    index: LibraryIndex,
    papers: Mapping[str, LibraryPaperDoc] | Iterable[LibraryPaperDoc],
    libraries: Iterable[Library],
    *,
    stats: dict | None = None,
) -> dict[int, list[LikeMatch]]:
    """Each library's best ``limit`` papers of the day, best first (score desc, then paper key asc),
    each with the library paper(s) it is most like. Libraries with nothing alike are left out.

    ``papers``: the library papers the libraries name (keys the libraries name but ``papers`` lacks
    are ignored). A day's paper that *is* one of the library's papers (same key as
    ``paper:<key>``) is never returned: put it in ``Library.exclude``."""
    by_key = papers if isinstance(papers, Mapping) else {p.key: p for p in papers}
    libraries = list(libraries)
    stats = {} if stats is None else stats
    if not len(index) or not libraries:
        return {}
    used = sorted({key for lib in libraries for key in lib.papers if key in by_key})
    if not used:
        return {}
    seed_docs = [by_key[key] for key in used]
    seeds = _Seeds(keys=used, titles=[d.title for d in seed_docs], row={key: i for i, key in enumerate(used)})
    tf, seed_df, extra = _seed_matrix(index, seed_docs)
    idf = _idf(index, seed_df, len(used))
    seed_rows = _tfidf_rows(tf, idf, extra)
    paper_rows = _tfidf_rows(index.tf, idf)
    # (seeds x papers): BM25 of each day's paper for the seed as a query, and plain cosine.
    bm25 = _keep_best((seed_rows @ _bm25(index, idf).T).tocsr(), NEIGHBOURS)
    cosine = (seed_rows @ paper_rows.T).tocsr()
    stats["library_papers"] = len(used)
    stats["neighbour_pairs"] = int(bm25.nnz)

    out: dict[int, list[LikeMatch]] = {}
    for first in range(0, len(libraries), _BLOCK):
        block = libraries[first : first + _BLOCK]
        out.update(_match_block(block, seeds, bm25, cosine, index))
    return out


def _library_rows(block: Sequence[Library], seeds: _Seeds) -> sparse.csr_matrix:
    indptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for lib in block:
        members = sorted({seeds.row[k] for k in lib.papers if k in seeds.row})
        cols.extend(members)
        vals.extend([1.0 / len(members)] * len(members) if members else [])
        indptr.append(len(cols))
    return sparse.csr_matrix((vals, cols, indptr), shape=(len(block), len(seeds.keys)))


def _match_block(
    block: Sequence[Library], seeds: _Seeds, bm25: sparse.csr_matrix, cosine: sparse.csr_matrix, index: LibraryIndex
) -> dict[int, list[LikeMatch]]:
    members = _library_rows(block, seeds)
    mean = (members @ bm25).tocsr()  # candidates: papers near at least one of the library's papers
    out: dict[int, list[LikeMatch]] = {}
    for r, lib in enumerate(block):
        start, end = mean.indptr[r], mean.indptr[r + 1]
        if start == end:
            continue
        docs = mean.indices[start:end]
        scores = mean.data[start:end]
        top = scores.max()
        if top <= 0:
            continue
        lib_seeds = members.indices[members.indptr[r] : members.indptr[r + 1]]
        sims = cosine[lib_seeds][:, docs].toarray()  # (library papers x candidates)
        best = sims.max(axis=0)
        total = np.round(scores / top + MAX_WEIGHT * best, _SCORE_DECIMALS)
        keep = total >= MIN_SCORE
        if lib.exclude:
            keep &= ~np.isin(np.asarray(index.keys)[docs], list(lib.exclude))
        idx = np.flatnonzero(keep)
        keys = np.asarray(index.keys)[docs[idx]]
        order = idx[np.lexsort((keys, -total[idx]))][: lib.limit]
        out[lib.key] = [
            LikeMatch(
                paper_key=int(index.keys[docs[j]]),
                score=float(total[j]),
                like=_resemblances(sims[:, j], lib_seeds, seeds),
            )
            for j in order
        ]
        if not out[lib.key]:
            del out[lib.key]
    return out


def _resemblances(column: np.ndarray, lib_seeds: np.ndarray, seeds: _Seeds) -> tuple[Resemblance, ...]:
    order = np.lexsort((lib_seeds, -column))
    best = column[order[0]]
    picked = [order[0]]
    if len(order) > 1 and best > 0 and column[order[1]] >= SECOND_REASON * best:
        picked.append(order[1])
    return tuple(
        Resemblance(
            key=seeds.keys[lib_seeds[i]], title=seeds.titles[lib_seeds[i]], similarity=round(float(column[i]), 4)
        )
        for i in picked
    )


def library_match(
    index: LibraryIndex, papers: Iterable[LibraryPaperDoc], *, limit: int = 10, exclude: Iterable[int] = ()
) -> list[LikeMatch]:
    """One library's matches (the live preview and ``preview_query --like``)."""
    papers = list(papers)
    library = Library(key=0, papers=tuple(p.key for p in papers), limit=limit, exclude=frozenset(exclude))
    return libraries_match(index, papers, [library]).get(0, [])
