"""One ranking from keyword matches and library resemblance (pure: plain records in, Matches out).

CombSUM with min-max normalisation (Fox & Shaw; Lee, SIGIR 1997), the textbook fusion of two ranked
lists whose scores live on different scales: keyword scores (BM25 sums, unbounded) and library
scores (0 .. 1.3) are each mapped onto 0..1 over the candidates of their list (its best is 1, its
weakest 0), then added with equal weights. A paper found both ways (two independent signals
agreeing) comes first; a paper only one signal found keeps its share, so a library paper about as
close as the library's best outranks a keyword match that barely made the keyword list, and a
keyword match near the top of its list outranks a library paper that only vaguely resembles.
Dividing by the best alone (no minimum) let the weakest keyword matches keep half their weight,
which is what let them crowd out close library papers (docs/PERFORMANCE.md, relevance).

Min-max needs each list to reach into its weak tail, so callers pass ``POOL_FACTOR`` times the
digest's length of each (:func:`pool_size`). The result is a list of
:class:`digest.matching.Match` like the engine's, so storing, emailing and the archive treat it like
any digest; a library reason reads "like ‘Title’, from your library" and has no matched words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from digest.matching import Match, Reason

from .records import LikeMatch

SNIPPET_CHARS = 300
LIBRARY_WEIGHT = 1.0  # a library match counts as much as a keyword match, scale for scale
POOL_FACTOR = 3  # each list is fused from this many times the digest's length


def pool_size(limit: int) -> int:
    """How many of each list (keyword matches, library matches) to fuse for a digest of ``limit``."""
    return max(1, limit) * POOL_FACTOR


def min_max(scores: Sequence[float]) -> list[float]:
    """Scores mapped onto 0..1: the best is 1 and the weakest 0; a list of equal scores is all 1."""
    if not scores:
        return []
    top, low = max(scores), min(scores)
    if top <= low:
        return [1.0] * len(scores)
    return [(value - low) / (top - low) for value in scores]


def snippet_of(abstract: str) -> str:
    text = " ".join(abstract.split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"


def like_reasons(like: LikeMatch) -> tuple[Reason, ...]:
    return tuple(Reason(interest=r.text, terms=()) for r in like.like)


def matches_combine(
    *,
    keyword: Sequence[Match],
    like: Sequence[LikeMatch],
    limit: int,
    abstract_of: Callable[[int], str] | Mapping[int, str],
) -> list[Match]:
    """The subscriber's top ``limit`` of both lists together, best first (ties by paper key).

    Each list is normalised over all of it: pass :func:`pool_size` of ``limit`` of each (or all there
    are), so that the weakest of a list is a weak paper. ``abstract_of`` gives the abstract of a paper
    only the library found (for its snippet)."""
    if not like:
        return list(keyword[:limit])
    lookup = abstract_of.get if isinstance(abstract_of, Mapping) else abstract_of
    scores: dict[int, float] = {}
    for m, share in zip(keyword, min_max([m.score for m in keyword]), strict=True):
        scores[m.paper_key] = share
    for alike, share in zip(like, min_max([m.score for m in like]), strict=True):
        scores[alike.paper_key] = scores.get(alike.paper_key, 0.0) + LIBRARY_WEIGHT * share
    by_kw = {m.paper_key: m for m in keyword}
    by_like = {m.paper_key: m for m in like}
    ranked = sorted(scores, key=lambda key: (-round(scores[key], 6), key))[:limit]
    out: list[Match] = []
    for key in ranked:
        score = round(scores[key], 4)
        matched = by_kw.get(key)
        resembles = by_like.get(key)
        if matched is not None:
            reasons = matched.reasons + (like_reasons(resembles) if resembles else ())
            out.append(
                Match(
                    paper_key=key,
                    score=score,
                    reasons=reasons,
                    title_spans=matched.title_spans,
                    snippet=matched.snippet,
                    snippet_spans=matched.snippet_spans,
                )
            )
        else:
            assert resembles is not None
            out.append(
                Match(
                    paper_key=key,
                    score=score,
                    reasons=like_reasons(resembles),
                    title_spans=(),
                    snippet=snippet_of(lookup(key) or ""),
                    snippet_spans=(),
                )
            )
    return out
