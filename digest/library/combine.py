"""One ranking from keyword matches and library resemblance (pure: plain records in, Matches out).

Keyword scores (BM25 sums, unbounded) and library scores (0 .. 1.3) are on different scales, so each
is divided by the subscriber's best of its kind first; a paper found both ways adds the two, which is
what puts it first: two independent signals agreeing is the best evidence a paper is wanted. A paper
only one signal found keeps that signal's share. The result is a list of
:class:`digest.matching.Match` like the engine's, so storing, emailing and the archive treat it like
any digest; a library reason reads "like ‘Title’, from your library" and has no matched words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from digest.matching import Match, Reason

from .records import LikeMatch

SNIPPET_CHARS = 300
LIBRARY_WEIGHT = 1.0  # a library match counts as much as a keyword match, scale for scale


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

    ``abstract_of`` gives the abstract of a paper only the library found (for its snippet)."""
    if not like:
        return list(keyword[:limit])
    lookup = abstract_of.get if isinstance(abstract_of, Mapping) else abstract_of
    top_kw = max((m.score for m in keyword), default=0.0) or 1.0
    top_like = max((m.score for m in like), default=0.0) or 1.0
    scores: dict[int, float] = {}
    for m in keyword:
        scores[m.paper_key] = m.score / top_kw
    for alike in like:
        scores[alike.paper_key] = scores.get(alike.paper_key, 0.0) + LIBRARY_WEIGHT * alike.score / top_like
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
