"""A query error said in plain words, and where it is, for people (the parser's own message is terse).

``QueryError.message`` and ``.position`` stay as the parser sets them (tests and tools read them);
``str(error)`` is :func:`error_sentence`, and pages mark the spot with :func:`error_where`.
No Python repr, no "position 0": a sentence that names the words the person typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .query import QueryError

EXCERPT_CHARS = 40


@dataclass(frozen=True)
class ErrorWhere:
    """The query split around the spot the error is about: ``before`` + ``at`` + ``after``."""

    before: str
    at: str
    after: str


def _clip(text: str, *, keep_end: bool = False) -> str:
    text = text.strip()
    if len(text) <= EXCERPT_CHARS:
        return text
    return "…" + text[-EXCERPT_CHARS:].lstrip() if keep_end else text[:EXCERPT_CHARS].rstrip() + "…"


def _word_at(query: str, position: int) -> str:
    match = re.match(r"\S+", query[position:])
    return match.group(0) if match else ""


@dataclass(frozen=True)
class _Spot:
    query: str
    pos: int

    @property
    def before(self) -> str:
        return self.query[: self.pos]

    @property
    def after(self) -> str:
        return self.query[self.pos :]

    @property
    def word(self) -> str:
        return _word_at(self.query, self.pos)


def _bracket(spot: _Spot) -> str:
    if spot.after.startswith("("):
        return f"Close the bracket before “{_clip(spot.after[1:])}”: add a ) where the group ends."
    return f"The ) after “{_clip(spot.before, keep_end=True)}” closes a bracket that was never opened: remove it."


def _field_needs_word(spot: _Spot) -> str:
    field = spot.word.split(":")[0]
    return f'Put a word or "phrase" right after {field}:, with no space, as in: {field}:{_example(field)}.'


def _quote_inside_word(spot: _Spot) -> str:
    start = max(spot.query.rfind(" ", 0, spot.pos) + 1, 0)
    return f"Put a space before the quote in “{_clip(_word_at(spot.query, start))}”."


# The parser's message (its start) -> the sentence a person reads, built from where it happened.
_SENTENCES: tuple[tuple[str, Callable[[_Spot], str]], ...] = (
    ("Unbalanced quote", lambda s: f'Close the quote after “{_clip(s.after[1:])}”: add a " at the end of the phrase.'),
    ("Unbalanced parenthesis", _bracket),
    ("OR needs something on its left", lambda s: "Put a word before OR, as in: diffusion OR flow."),
    (
        "OR needs something on its right",
        lambda s: f"Put a word after the OR that follows “{_clip(s.before, keep_end=True)}”, as in: diffusion OR flow.",
    ),
    (
        "This part only excludes",
        lambda s: f"“{_clip(s.after)}” only says what to leave out: add a word to look for, as in: diffusion -medical.",
    ),
    ("Nothing to exclude after", lambda s: _DASH_ALONE),
    ("A lone '-'", lambda s: _DASH_ALONE),
    ("Double '-'", lambda s: f"Use a single - before “{_word_at(s.after.lstrip('-'), 0)}”, as in: -medical."),
    ("Empty quotes", lambda s: "Put a word or phrase between the empty quotes."),
    ("Empty parentheses", lambda s: "Put a word between the empty brackets, or remove them."),
    ("A quote must start a phrase", _quote_inside_word),
    (
        "Unknown field",
        lambda s: (
            f"Paperboy does not know “{s.word.split(':')[0]}:”. Use title:, author: or category:, as in: author:hinton."
        ),
    ),
    ("Query is empty", lambda s: "Type a word or phrase to look for."),
)
_DASH_ALONE = "Write the - right before the word to leave out, with no space, as in: diffusion -medical."


def error_sentence(error: QueryError) -> str:
    """What is wrong and how to fix it, in a sentence that quotes the person's own words."""
    spot = _Spot(error.query, min(max(error.position, 0), len(error.query)))
    for start, sentence in _SENTENCES:
        if error.message.startswith(start):
            return sentence(spot)
    if error.message.endswith('needs a word or "phrase" right after it'):
        return _field_needs_word(spot)
    return error.message.rstrip(".") + "."


def _example(field: str) -> str:
    return {"author": "hinton", "category": "cs.LG", "title": '"diffusion model"'}.get(field.lower(), "word")


def error_where(error: QueryError) -> ErrorWhere | None:
    """The spot to mark in the query as typed, or None when the error is about the whole query."""
    query = error.query
    if not query.strip() or error.message.startswith(("Query is too long", "No letters", "A query must")):
        return None
    pos = min(max(error.position, 0), len(query))
    at = query[pos : pos + 1] if query[pos : pos + 1].strip() else ""
    if error.message.startswith(("Unknown field", "OR needs", "This part only", "Double '-'")) or (
        error.message.endswith("right after it")
    ):
        at = _word_at(query, pos)
    return ErrorWhere(before=query[:pos], at=at, after=query[pos + len(at) :])
