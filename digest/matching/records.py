"""Plain records the engine takes and returns (no ORM: callers convert their rows)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaperDoc:
    """One paper as the matcher sees it."""

    key: int  # the Paper row id (or any int)
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    popularity: int | None = None  # e.g. Hugging Face upvotes; None when the source has none


@dataclass(frozen=True, slots=True)
class Profile:
    """One subscriber's interests."""

    key: int  # subscription id
    interests: tuple[str, ...]  # query strings in the query language
    muted: tuple[str, ...] = ()  # muted words/phrases: a paper containing any is dropped
    limit: int = 10  # keep the top N


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a paper matched: one interest and the words/phrases of it found in the paper.

    ``terms`` are the words as the interest has them (what a "mute" link offers); ``described`` says,
    term by term, how each was found: the term itself, or "LLM, as 'large language model'" where
    the paper has it only through an acronym alternative.  Empty means "as written" for all.
    """

    interest: str
    terms: tuple[str, ...]
    described: tuple[str, ...] = ()

    @property
    def descriptions(self) -> tuple[str, ...]:
        return self.described or self.terms


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked paper for one subscriber."""

    paper_key: int
    score: float
    reasons: tuple[Reason, ...]
    title_spans: tuple[tuple[int, int], ...]  # [start, end) into the original title
    snippet: str  # the part of the abstract around the best hits
    snippet_spans: tuple[tuple[int, int], ...]  # [start, end) into `snippet`

    @property
    def matched_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(term for reason in self.reasons for term in reason.terms))

    @property
    def described_terms(self) -> tuple[str, ...]:
        """Like ``matched_terms``, saying how each was found (see :attr:`Reason.described`)."""
        return tuple(dict.fromkeys(text for reason in self.reasons for text in reason.descriptions))

    @property
    def interests(self) -> tuple[str, ...]:
        return tuple(reason.interest for reason in self.reasons)
