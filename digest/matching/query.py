"""The interest query language: parsing, validation and the compiled query tree.

Grammar (one query per interest)::

    query   := any EOF
    any     := all ("OR" all)*            # OR (upper case) binds loosest
    all     := item+                      # bare items are ANDed
    item    := ["-"] atom                 # "-" excludes
    atom    := "(" any ")" | [field ":"] ["="] (word | '"' phrase '"')
    field   := title | author | category  # default: title + abstract

A word is split into tokens the same way paper text is (``fine-tuning`` -> ``fine tuning``), so a
hyphenated word behaves like the quoted phrase of its parts.  A word or phrase also matches its
acronym alternatives (``LLM`` ~ "large language model", see acronyms.py), and so do bare words
written one after the other that spell a long form out (``large language model``); ``=`` before a
word or phrase asks for exactly that, without acronym alternatives (``=RL``).  British and American
spellings are one word everywhere (normalize.py).  Every error is a :class:`QueryError`
carrying the 0-based position in the text the user typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from dataclasses import field as dataclass_field  # Term has a field named "field"
from typing import TYPE_CHECKING

from .normalize import fold, name_tokens, stem, tokens

if TYPE_CHECKING:
    from .acronyms import AcronymTable

MAX_QUERY_LENGTH = 500
MAX_TERMS = 32
MAX_MUTED_LENGTH = 100
FIELDS = ("title", "author", "category")
TEXT = "text"  # the default field: title and abstract

_QUOTE_FOLD = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"'})
_FIELD_RE = re.compile(r"([A-Za-z]+):")


class QueryError(ValueError):
    """A query (or muted word) that cannot be used, with what is wrong and where."""

    def __init__(self, message: str, position: int, query: str) -> None:
        self.message = message
        self.position = position
        self.query = query
        super().__init__(message)

    def __str__(self) -> str:
        # What people read (pages, forms, commands): plain words naming what they typed.
        from .error_words import error_sentence

        return error_sentence(self)


@dataclass(frozen=True, slots=True)
class Term:
    """One word or phrase to look for in one field.

    ``unit`` is the phrase as a tuple of stems (author: folded tokens, category: the folded name).
    ``text`` is the word or phrase as the user wrote it, used in the reasons of a match.
    ``bare`` marks an unquoted, unprefixed single word (it takes part in joins and adjacency bonuses).
    ``parts`` is set on the joined form of two bare words (``fine tuning`` -> ``finetuning``) and on
    the phrase of bare words that spell out an acronym's long form (``large language model`` ->
    the phrase, which also finds "LLM"): it only counts (for score and reasons) where the words
    themselves are not all present.
    ``exact`` (written ``=word``) turns acronym alternatives off.
    """

    field: str
    unit: tuple[str, ...]
    text: str
    bare: bool = False
    parts: tuple[Term, ...] = ()
    exact: bool = False
    # Terms key every cache of the engine and the explainer (millions of lookups a planning shard):
    # the hash is worked out once, not from all six fields at every lookup.
    _hash: int = dataclass_field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.field, self.unit, self.text, self.bare, self.parts, self.exact)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple:
        # Rebuilt through __init__ in the receiving process: a string's hash differs between processes.
        return (Term, (self.field, self.unit, self.text, self.bare, self.parts, self.exact))


@dataclass(frozen=True, slots=True)
class All:
    """Every positive node and none of the negative nodes."""

    positive: tuple[Node, ...]
    negative: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class Any:
    """At least one of the nodes."""

    items: tuple[Node, ...]


Node = Term | All | Any


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed interest: its tree plus what ranking needs."""

    text: str
    root: Node
    # Positive terms in the order written (deduplicated): these are the candidate "reasons".
    terms: tuple[Term, ...] = field(default=())
    # Joined forms of adjacent bare words (see Term.parts).
    joins: tuple[Term, ...] = field(default=())
    # Pairs of bare words written next to each other: a paper with them adjacent gets a bonus.
    adjacent: tuple[tuple[Term, Term], ...] = field(default=())

    def __str__(self) -> str:
        return self.text


# --- lexer ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE OR MINUS LPAREN RPAREN
    text: str
    pos: int
    field: str = TEXT
    exact: bool = False


def _lex(query: str) -> list[_Tok]:
    """The query's tokens, left to right: punctuation, then words and phrases (with their field)."""
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        tok = _lex_punctuation(query, i)
        if tok is None:
            tok, i = _lex_atom(query, i)
        else:
            i += 1
        toks.append(tok)
    return toks


def _lex_punctuation(query: str, i: int) -> _Tok | None:
    """A parenthesis or an excluding '-' at ``i`` (one character), or None."""
    ch = query[i]
    if ch == "(":
        return _Tok("LPAREN", ch, i)
    if ch == ")":
        return _Tok("RPAREN", ch, i)
    if ch != "-":
        return None
    nxt = query[i + 1] if i + 1 < len(query) else ""
    if not nxt or nxt.isspace() or nxt == ")":
        raise QueryError("A lone '-' excludes nothing (write -word or -\"phrase\")", i, query)
    if nxt == "-":
        raise QueryError("Double '-': write a single '-' before the word to exclude", i, query)
    return _Tok("MINUS", ch, i)


def _lex_field(query: str, i: int) -> tuple[str, int]:
    """The field prefix at ``i`` (``title:`` ...), if any: (field name, where its word starts)."""
    m = _FIELD_RE.match(query, i)
    if not m:
        return TEXT, i
    name = m.group(1).lower()
    after = m.end()
    if name in FIELDS:
        if after >= len(query) or query[after].isspace() or query[after] in "()":
            raise QueryError(f"'{m.group(0)}' needs a word or \"phrase\" right after it", i, query)
        return name, after
    if name in ("http", "https"):  # a pasted URL is words, not a field
        return TEXT, i
    raise QueryError(f"Unknown field '{m.group(1)}:' (use title:, author: or category:)", i, query)


def _lex_atom(query: str, start: int) -> tuple[_Tok, int]:
    """The word or quoted phrase starting at ``start`` (after its field prefix) and where it ends."""
    fieldname, i = _lex_field(query, start)
    n = len(query)
    exact = i + 1 < n and query[i] == "=" and not query[i + 1].isspace() and query[i + 1] not in "()"
    if exact:
        i += 1
        if query[i] == "=":
            raise QueryError("Double '=': write a single '=' before the word to match exactly", i - 1, query)
    if i < n and query[i] == '"':
        close = query.find('"', i + 1)
        if close < 0:
            raise QueryError("Unbalanced quote", i, query)
        inner = query[i + 1 : close]
        if not inner.strip():
            raise QueryError("Empty quotes", i, query)
        return _Tok("PHRASE", inner, start, fieldname, exact), close + 1
    j = i
    while j < n and not query[j].isspace() and query[j] not in '"()':
        j += 1
    if j < n and query[j] == '"' and j > i:
        raise QueryError("A quote must start a phrase (put a space before it)", j, query)
    word = query[i:j]
    kind = "OR" if word == "OR" and fieldname == TEXT and not exact else "WORD"
    return _Tok(kind, word, start, fieldname, exact), j


# --- parser --------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str, toks: list[_Tok], acronyms: AcronymTable | None) -> None:
        self.query = query
        self.toks = toks
        self.acronyms = acronyms
        self.i = 0
        self.nterms = 0

    def error(self, message: str, position: int) -> QueryError:
        return QueryError(message, position, self.query)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse_any(self, depth: int) -> Node | None:
        groups: list[Node] = []
        tok = self.peek()
        if tok is not None and tok.kind == "OR":
            raise self.error("OR needs something on its left", tok.pos)
        while True:
            group = self.parse_all(depth)
            if group is not None:
                groups.append(group)
            tok = self.peek()
            if tok is None or tok.kind != "OR":
                break
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RPAREN"):
                raise self.error("OR needs something on its right", tok.pos)
        if not groups:
            return None
        return groups[0] if len(groups) == 1 else Any(tuple(groups))

    def parse_all(self, depth: int) -> Node | None:
        positive: list[Node] = []
        negative: list[Node] = []
        first = self.peek()
        while True:
            tok = self.peek()
            if tok is None or tok.kind in ("OR", "RPAREN"):
                break
            negated = tok.kind == "MINUS"
            if negated:
                self.i += 1
                tok = self.peek()
                assert tok is not None  # the lexer guarantees something follows a '-'
            node = self.parse_atom(tok, depth)
            if node is None:
                if negated:
                    raise self.error("Nothing to exclude after '-'", tok.pos - 1)
                continue
            (negative if negated else positive).append(node)
        if not positive:
            if negative:
                raise self.error("This part only excludes: add a word to look for", first.pos if first else 0)
            return None
        positive = _with_joins(positive, self.acronyms)
        if len(positive) == 1 and not negative:
            return positive[0]
        return All(tuple(positive), tuple(negative))

    def parse_atom(self, tok: _Tok, depth: int) -> Node | None:
        if tok.kind == "LPAREN":
            if depth >= 5:
                raise self.error("Too many nested parentheses", tok.pos)
            self.i += 1
            inner = self.parse_any(depth + 1)
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise self.error("Unbalanced parenthesis", tok.pos)
            self.i += 1
            if inner is None:
                raise self.error("Empty parentheses", tok.pos)
            return inner
        if tok.kind == "RPAREN":
            raise self.error("Unbalanced parenthesis", tok.pos)
        self.i += 1
        term = self.make_term(tok)
        if term is not None:
            self.nterms += 1
            if self.nterms > MAX_TERMS:
                raise self.error(f"Too many words (at most {MAX_TERMS} per query)", tok.pos)
        return term

    def make_term(self, tok: _Tok) -> Term | None:
        text = tok.text.strip()
        if tok.field == "category":
            name = fold(text).strip()
            if not name or any(c.isspace() for c in name):
                raise self.error("category: takes one category name such as cs.LG", tok.pos)
            return Term("category", (name,), text)
        words = name_tokens(text) if tok.field == "author" else tokens(text)
        if not words:
            if tok.field != TEXT or tok.kind == "PHRASE":
                raise self.error("No letters or digits to look for", tok.pos)
            return None  # stray punctuation such as '&' between words
        if tok.field == "author":
            return Term("author", tuple(words), text)
        unit = tuple(stem(w) for w in words)
        bare = tok.kind == "WORD" and tok.field == TEXT and len(unit) == 1 and not tok.exact
        return Term(tok.field, unit, text, bare, exact=tok.exact)


def _is_bare(node: Node) -> bool:
    return isinstance(node, Term) and node.bare


def _with_joins(positive: list[Node], acronyms: AcronymTable | None) -> list[Node]:
    """``fine tuning`` written as two bare words also matches ``finetuning``, and ``large language
    model`` written as bare words also matches the acronym of that long form ("LLM").

    Adjacent bare words a b become (a AND b) OR ab; bare words spelling out a long form become
    (a AND b AND c) OR "a b c" (a phrase term that also finds the acronym); one replacement at a
    time keeps the tree small.
    """
    pairs = [i for i in range(len(positive) - 1) if _is_bare(positive[i]) and _is_bare(positive[i + 1])]
    if not pairs:
        return positive
    replacements: list[tuple[int, int, Term]] = []
    for i in pairs:
        a, b = positive[i], positive[i + 1]
        assert isinstance(a, Term) and isinstance(b, Term)
        replacements.append((i, i + 2, Term(TEXT, (a.unit[0] + b.unit[0],), f"{a.text} {b.text}", parts=(a, b))))
    for start, end in _long_form_runs(positive, acronyms):
        parts = tuple(t for t in positive[start:end] if isinstance(t, Term))
        text = " ".join(t.text for t in parts)
        replacements.append((start, end, Term(TEXT, tuple(t.unit[0] for t in parts), text, parts=parts)))
    alternatives: list[Node] = [All(tuple(positive))]
    for start, end, term in replacements:
        rest = (*positive[:start], term, *positive[end:])
        alternatives.append(rest[0] if len(rest) == 1 else All(tuple(rest)))
    return [Any(tuple(alternatives))]


def _long_form_runs(positive: list[Node], acronyms: AcronymTable | None) -> list[tuple[int, int]]:
    """[start, end) runs of adjacent bare words that spell out a long form of the acronym table."""
    if acronyms is None:
        return []
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(positive):
        j = i
        while j < len(positive) and _is_bare(positive[j]):
            j += 1
        if j - i >= 2:
            stems = tuple(t.unit[0] for t in positive[i:j] if isinstance(t, Term))
            runs += [(i + a, i + b) for a, b in acronyms.long_forms_in(stems)]
        i = j + 1
    return runs


def _positive_terms(node: Node, out: dict[Term, None]) -> None:
    if isinstance(node, Term):
        out[node] = None
    elif isinstance(node, All):
        for child in node.positive:
            _positive_terms(child, out)
    else:
        for child in node.items:
            _positive_terms(child, out)


def _adjacent_pairs(node: Node, out: dict[tuple[Term, Term], None]) -> None:
    if isinstance(node, All):
        for a, b in zip(node.positive, node.positive[1:], strict=False):
            if isinstance(a, Term) and isinstance(b, Term) and a.bare and b.bare:
                out[(a, b)] = None
        for child in node.positive:
            _adjacent_pairs(child, out)
    elif isinstance(node, Any):
        for child in node.items:
            _adjacent_pairs(child, out)


def parse_query(text: str, *, acronyms: AcronymTable | None = None) -> Query:
    """Parse one interest query; raises :class:`QueryError` saying what is wrong and where.

    With ``acronyms`` (the index's table), bare words spelling out a long form also match its
    acronym; whether a query parses never depends on it."""
    if not isinstance(text, str):
        raise QueryError("A query must be text", 0, str(text))
    query = text.translate(_QUOTE_FOLD)
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"Query is too long ({len(query)} characters, at most {MAX_QUERY_LENGTH})", MAX_QUERY_LENGTH, text
        )
    if not query.strip():
        raise QueryError("Query is empty", 0, text)
    try:
        toks = _lex(query)
        parser = _Parser(query, toks, acronyms)
        root = parser.parse_any(0)
        leftover = parser.peek()
        if leftover is not None:
            raise parser.error("Unbalanced parenthesis", leftover.pos)
    except QueryError as err:
        raise QueryError(err.message, err.position, text) from None
    if root is None:
        raise QueryError("No letters or digits to look for", 0, text)
    terms: dict[Term, None] = {}
    _positive_terms(root, terms)
    adjacent: dict[tuple[Term, Term], None] = {}
    _adjacent_pairs(root, adjacent)
    return Query(
        text=text,
        root=root,
        terms=tuple(t for t in terms if not t.parts),
        joins=tuple(t for t in terms if t.parts),
        adjacent=tuple(adjacent),
    )


def validate_muted(word: str) -> str:
    """Clean one muted word or phrase for storage; raises :class:`QueryError` when unusable.

    Returns the text trimmed, with surrounding quotes removed and inner whitespace collapsed.
    A muted entry matches like a quoted phrase in the title or abstract.
    """
    if not isinstance(word, str):
        raise QueryError("A muted word must be text", 0, str(word))
    cleaned = " ".join(word.translate(_QUOTE_FOLD).split())
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] == '"':
        cleaned = cleaned[1:-1].strip()
    if not cleaned:
        raise QueryError("Muted word is empty", 0, word)
    if len(cleaned) > MAX_MUTED_LENGTH:
        raise QueryError(f"Muted word is too long (at most {MAX_MUTED_LENGTH} characters)", MAX_MUTED_LENGTH, word)
    if not tokens(cleaned):
        raise QueryError("Muted word has no letters or digits", 0, word)
    return cleaned


def muted_term(word: str) -> Term:
    """The term a (validated) muted word matches as: a phrase anywhere in title or abstract."""
    cleaned = validate_muted(word)
    return Term(TEXT, tuple(stem(w) for w in tokens(cleaned)), cleaned)
