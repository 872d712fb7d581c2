"""Plain records of library matching (no ORM: callers convert their rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .words import TermVector


@dataclass(frozen=True, slots=True)
class LibraryPaperDoc:
    """One paper of somebody's library, as the matcher sees it."""

    key: str  # stable: "arxiv:2001.08361", "doi:10.1/x", "title:<title key>"
    title: str
    abstract: str = ""
    # Its words counted once and stored when it joined a library (``words.term_vector``); None: count now.
    terms: TermVector | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Library:
    """One subscriber's library: the keys of its papers (see :class:`LibraryPaperDoc`)."""

    key: int  # subscription id
    papers: tuple[str, ...]
    limit: int = 10
    exclude: frozenset[int] = frozenset()  # day's paper keys never to return (its own papers, already sent)
    # Which of the ``limit`` returned are explained (say which library paper they are like): the best
    # ``shown`` (0: all) and any in ``explain_also`` (day's paper keys). The planner fuses a pool 3x the
    # digest but shows only the digest: a library-only paper shown is among the best ``shown``, and a
    # paper found both ways is among the keyword matches it passes as ``explain_also``.
    shown: int = 0
    explain_also: frozenset[int] = frozenset()


LIBRARY_REASON_END = ", from your library"
LIBRARY_TOPIC = "what your library is about"


def library_topic(reason: str) -> str:
    """An email's topic for a reason: every "like ‘…’, from your library" counts as one topic."""
    return LIBRARY_TOPIC if reason.startswith("like ‘") and reason.endswith(LIBRARY_REASON_END) else reason


@dataclass(frozen=True, slots=True)
class Resemblance:
    """A library paper a day's paper is like, and how alike (cosine similarity, 0..1)."""

    key: str
    title: str
    similarity: float

    @property
    def text(self) -> str:
        return f"like ‘{self.title}’{LIBRARY_REASON_END}"


@dataclass(frozen=True, slots=True)
class LikeMatch:
    paper_key: int
    score: float  # 0 .. 1 + MAX_WEIGHT
    like: tuple[Resemblance, ...]  # the library paper(s) it is most like, best first; one or two (none: not explained)
