"""Paperboy's matching engine: a query language, an index of the day's papers, ranking with reasons.

Pure Python over plain records (no Django): callers turn Paper rows into :class:`PaperDoc` and
subscriptions into :class:`Profile`, then call :func:`match_profiles` (the daily batch) or
:func:`match_profile` (the live preview).  Returned matches work out their reasons, spans and
snippet when first read.  British and American spellings are one word (spelling.py), and an
acronym and its long form one interest (acronyms.py: learned from the indexed papers, plus a curated
list).  See ``docs/MATCHING.md`` for the query language and ``docs/PERFORMANCE.md`` for figures.
"""

from .acronyms import AcronymTable
from .engine import match_profile, match_profiles
from .index import PaperIndex
from .naive import naive_match, naive_prepare
from .query import MAX_QUERY_LENGTH, Query, QueryError, parse_query, validate_muted
from .records import Match, PaperDoc, Profile, Reason

__all__ = [
    "MAX_QUERY_LENGTH",
    "AcronymTable",
    "Match",
    "PaperDoc",
    "PaperIndex",
    "Profile",
    "Query",
    "QueryError",
    "Reason",
    "match_profile",
    "match_profiles",
    "naive_match",
    "naive_prepare",
    "parse_query",
    "validate_muted",
]
