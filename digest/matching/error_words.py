"""A query error said in plain words, and where it is, for people (the parser's own message is terse).

``QueryError.message`` and ``.position`` stay as the parser sets them (tests and tools read them);
``str(error)`` is :func:`error_sentence`, and pages mark the spot with :func:`error_where`.
No Python repr, no "position 0": a sentence that names the words the person typed.
"""

from __future__ import annotations

import re
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


def error_sentence(error: QueryError) -> str:
    """What is wrong and how to fix it, in a sentence that quotes the person's own words."""
    message, query, pos = error.message, error.query, min(max(error.position, 0), len(error.query))
    before, after = query[:pos], query[pos:]
    if message == "Unbalanced quote":
        return f'Close the quote after “{_clip(after[1:])}”: add a " at the end of the phrase.'
    if message == "Unbalanced parenthesis":
        if after.startswith("("):
            return f"Close the bracket before “{_clip(after[1:])}”: add a ) where the group ends."
        return f"The ) after “{_clip(before, keep_end=True)}” closes a bracket that was never opened: remove it."
    if message == "OR needs something on its left":
        return "Put a word before OR, as in: diffusion OR flow."
    if message == "OR needs something on its right":
        return f"Put a word after the OR that follows “{_clip(before, keep_end=True)}”, as in: diffusion OR flow."
    if message.startswith("This part only excludes"):
        return f"“{_clip(after)}” only says what to leave out: add a word to look for, as in: diffusion -medical."
    if message.startswith("Nothing to exclude after") or message.startswith("A lone '-'"):
        return "Write the - right before the word to leave out, with no space, as in: diffusion -medical."
    if message.startswith("Double '-'"):
        return f"Use a single - before “{_word_at(after.lstrip('-'), 0)}”, as in: -medical."
    if message == "Empty quotes":
        return "Put a word or phrase between the empty quotes."
    if message == "Empty parentheses":
        return "Put a word between the empty brackets, or remove them."
    if message.startswith("A quote must start a phrase"):
        return f"Put a space before the quote in “{_clip(_word_at(query, max(query.rfind(' ', 0, pos) + 1, 0)))}”."
    if message.startswith("Unknown field"):
        field = _word_at(query, pos).split(":")[0]
        return f"Paperboy does not know “{field}:”. Use title:, author: or category:, as in: author:hinton."
    if message.endswith('needs a word or "phrase" right after it'):
        field = _word_at(query, pos).split(":")[0]
        return f'Put a word or "phrase" right after {field}:, with no space, as in: {field}:{_example(field)}.'
    if message == "Query is empty":
        return "Type a word or phrase to look for."
    return message.rstrip(".") + "."


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
