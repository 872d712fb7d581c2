"""Reasons, highlight spans and snippets, for the final top matches only, when first read.

``match_profiles`` hands out one Match per (subscriber, paper) in the top N.  Creating a million
fully explained objects would cost more than the whole match, so each is a ``_LazyMatch``: its
reasons (which interests and words matched), title spans and snippet are worked out on first
access and cached per (interest, paper) and per (paper, words), where subscribers share them.

The parts: ``highlighter`` (spans, snippets, one interest's part), ``explainer`` (which interests matched
and why) and ``lazy`` (the lazy matches and the parts the planner stores them from).
"""

from .explainer import Explainer, matched_sets
from .highlighter import EXPLAINED_KEPT, Highlighter, MatchPart, highlighter_of
from .lazy import explain, match_parts, matches_parts

__all__ = [
    "EXPLAINED_KEPT",
    "Explainer",
    "Highlighter",
    "MatchPart",
    "explain",
    "highlighter_of",
    "match_parts",
    "matched_sets",
    "matches_parts",
]
