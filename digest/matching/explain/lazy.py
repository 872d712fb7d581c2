"""Matches explained when first read (``_LazyMatch``), made for every winner at once (``explain``),
and the parts the planner stores them from (``match_parts``, ``matches_parts``)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise, repeat

import numpy as np

from ..highlight import Spans
from ..index import PaperIndex
from ..query import Query
from ..records import Match, Profile, Reason
from .explainer import Explainer, matched_sets
from .highlighter import Highlighter, MatchPart


class _LazyMatch(Match):
    """A Match whose reasons, spans and snippet are worked out when first read (then kept).

    Behaves as a plain Match (same fields, equality, hash, repr; pickles as a Match).  The daily
    batch thereby creates a million of them in well under a second and only pays for explanations
    that something reads: a digest being rendered, the preview page.
    """

    __slots__ = ("_d", "_x")
    _d: tuple
    _x: tuple

    # _d = (paper_key, score, explainer, profile row, paper index, ids of the profile's interests that
    # matched the paper); _x = (reasons, spans...) once read.

    def __init__(self, paper_key, score, reasons, title_spans, snippet, snippet_spans) -> None:
        # Only reached through dataclasses.replace(): the batch creates these with _lazy().
        object.__setattr__(self, "_d", (paper_key, score, None, -1, -1, ()))
        object.__setattr__(self, "_x", (reasons, title_spans, snippet, snippet_spans))

    @property
    def paper_key(self) -> int:
        return self._d[0]

    @property
    def score(self) -> float:
        return self._d[1]

    def _explained(self) -> tuple:
        try:
            return self._x
        except AttributeError:
            _, _, explainer, _, doc, matched = self._d
            x = explainer.explained(doc, matched)
            object.__setattr__(self, "_x", x)
            return x

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return self._explained()[0]

    @property
    def title_spans(self) -> Spans:
        return self._explained()[1]

    @property
    def snippet(self) -> str:
        return self._explained()[2]

    @property
    def snippet_spans(self) -> Spans:
        return self._explained()[3]

    def _fields(self) -> tuple:
        return (self.paper_key, self.score, *self._explained())

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


def match_parts(match: Match) -> tuple[int, tuple[MatchPart, ...], Highlighter] | None:
    """(paper index, the matched interests' parts, the highlighter that composes them) of a match made
    lazily by ``match_profiles`` and not yet explained; None otherwise (the caller reads the match's
    fields instead). One match of ``matches_parts``, which the planner calls for a subscriber's all."""
    found = matches_parts([match])
    if found is None:
        return None
    _, _, doc, parts, highlighter = found[0]
    return doc, parts, highlighter


def matches_parts(
    matches: Sequence[Match],
) -> list[tuple[int, float, int, tuple[MatchPart, ...], Highlighter]] | None:
    """``match_parts`` of every match at once, each as (paper key, score, paper index, parts,
    highlighter); None when any match is not one ``match_parts`` covers. The planner's hot loop: it
    stores about ten matches per subscriber, most of them one interest's part, found here with a single
    lookup."""
    out = []
    for match in matches:
        if type(match) is not _LazyMatch:
            return None
        paper_key, score, explainer, _, doc, matched = match._d
        if explainer is None:
            return None
        if len(matched) == 1:
            part = explainer.index.parts.get(explainer.part_keys[matched[0]] + doc)
            parts = (part,) if part is not None else explainer.parts(doc, matched)
        else:
            parts = explainer.parts(doc, matched)
        out.append((paper_key, score, doc, parts, explainer.highlighter))
    return out


_new = object.__new__
_set_data = _LazyMatch.__dict__["_d"].__set__


def _lazy(paper_key: int, score: float, explainer: Explainer, row: int, doc: int, matched: tuple[int, ...]) -> Match:
    match = _new(_LazyMatch)
    _set_data(match, (paper_key, score, explainer, row, doc, matched))
    return match


def explain(
    index: PaperIndex,
    queries: list[Query],
    profiles: list[Profile],
    profile_q: np.ndarray,
    profile_q_indptr: np.ndarray,
    query_docs: list[np.ndarray],
    rows: np.ndarray,
    docs: np.ndarray,
    scores: np.ndarray,
) -> dict[int, list[Match]]:
    """One (lazily explained) Match per winner, grouped per profile, best first."""
    explainer = Explainer(index, queries, profile_q, profile_q_indptr, query_docs)
    n = len(rows)
    matched = matched_sets(query_docs, len(index), profile_q, profile_q_indptr, rows, docs)
    matches = list(
        map(
            _lazy,
            index.keys[docs].tolist(),
            scores.tolist(),
            repeat(explainer, n),
            rows.tolist(),
            docs.tolist(),
            matched,
        )
    )
    bounds = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1], [True]))).tolist()
    keys = [profiles[r].key for r in rows[bounds[:-1]].tolist()]
    return {key: matches[a:b] for key, (a, b) in zip(keys, pairwise(bounds), strict=True)}
