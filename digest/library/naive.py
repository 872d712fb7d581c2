"""The plain reference version of :mod:`digest.library.similarity`: dicts and loops, one library at a
time, the same definitions written the obvious way. Slow; a property test checks the two agree."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from . import similarity as fast
from .records import LibraryPaperDoc, LikeMatch, Resemblance
from .words import term_counts


def _top(items: dict[Any, float], k: int) -> list[tuple[Any, float]]:
    return sorted(items.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def library_match_naive(
    docs: Sequence[Any], library: Sequence[LibraryPaperDoc], *, limit: int = 10, exclude: frozenset[int] = frozenset()
) -> list[LikeMatch]:
    """The day's ``docs`` most like ``library`` (see :func:`digest.library.similarity.libraries_match`)."""
    seeds = sorted({d.key: d for d in library}.values(), key=lambda d: d.key)
    if not docs or not seeds:
        return []
    papers = [term_counts(d.title, d.abstract) for d in docs]
    queries = [term_counts(s.title, s.abstract) for s in seeds]
    df: Counter[str] = Counter()
    order: dict[str, int] = {}  # the vocabulary in order of first sight: ties between words go by it
    for counts in papers:
        df.update(counts.keys())
        for term in counts:
            order.setdefault(term, len(order))
    n = len(papers)

    def idf(term: str) -> float:
        return math.log((n + 1.0) / (df[term] + 1.0)) + 1.0

    rare = math.log(n + 1.0) + 1.0
    lengths = [sum(c.values()) for c in papers]
    avg = sum(lengths) / len(lengths)
    bm25 = [
        {
            t: idf(t) * c * (fast.BM25_K1 + 1) / (c + fast.BM25_K1 * (1 - fast.BM25_B + fast.BM25_B * length / avg))
            for t, c in counts.items()
        }
        for counts, length in zip(papers, lengths, strict=True)
    ]
    paper_vectors = [_unit({t: (1 + math.log(c)) * idf(t) for t, c in counts.items()}, 0.0) for counts in papers]
    neighbours: list[dict[int, tuple[float, float]]] = []  # per seed: paper position -> (bm25, cosine)
    for counts in queries:
        inside = {t: (1 + math.log(c)) * idf(t) for t, c in counts.items() if t in df}
        outside = sum(((1 + math.log(c)) * rare) ** 2 for t, c in counts.items() if t not in df)
        query = _unit(inside, outside)
        query = dict(sorted(query.items(), key=lambda kv: (-kv[1], order[kv[0]]))[: fast.QUERY_TERMS])
        scores = {i: sum(w * bm25[i].get(t, 0.0) for t, w in query.items()) for i in range(len(docs))}
        best = _top({i: s for i, s in scores.items() if s > 0}, fast.NEIGHBOURS)
        neighbours.append({i: (s, sum(w * paper_vectors[i].get(t, 0.0) for t, w in query.items())) for i, s in best})
    # A larger library uses fewer neighbours of each paper for scoring (all of them for explaining).
    level = next(k for most, k in fast.NEIGHBOUR_LEVELS if most is None or len(seeds) <= most)
    scoring = [dict(list(nb.items())[:level]) for nb in neighbours]
    mean = {i: sum(nb[i][0] for nb in scoring if i in nb) / len(seeds) for i in {i for nb in scoring for i in nb}}
    if not mean:
        return []
    top = max(mean.values())
    scored: dict[int, float] = {}
    for i, m in mean.items():
        closest = sum(nb[i][1] ** fast.MAX_NORM for nb in scoring if i in nb) ** (1.0 / fast.MAX_NORM)
        score = m / top + fast.MAX_WEIGHT * closest
        if score >= fast.MIN_SCORE and docs[i].key not in exclude:
            scored[i] = score
    ranked = sorted(scored, key=lambda i: (-round(scored[i], fast.SCORE_DECIMALS), docs[i].key))[:limit]
    out = []
    for i in ranked:
        sims = sorted(((nb[i][1], s) for s, nb in enumerate(neighbours) if i in nb), key=lambda x: (-x[0], x[1]))
        like = [Resemblance(seeds[sims[0][1]].key, seeds[sims[0][1]].title, round(sims[0][0], 4))]
        if len(sims) > 1 and sims[1][0] > 0 and sims[1][0] >= fast.SECOND_REASON * sims[0][0]:
            like.append(Resemblance(seeds[sims[1][1]].key, seeds[sims[1][1]].title, round(sims[1][0], 4)))
        out.append(LikeMatch(paper_key=docs[i].key, score=round(scored[i], fast.SCORE_DECIMALS), like=tuple(like)))
    return out


def _unit(weights: dict[str, float], outside: float) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()) + outside)
    return {t: w / norm for t, w in weights.items()} if norm else {}
