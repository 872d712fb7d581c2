"""A straightforward reference matcher: one regex per term, per query, per paper.

It shares only the tokenizer/stemmer (hence the spelling table), the parser and the acronym table
(learned from the same papers) with the indexed engine, not the evaluation: each acronym
alternative of a term is one more alternative in its regex.  The property tests and the benchmark
check that both find exactly the same papers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .acronyms import AcronymTable
from .normalize import fold, name_tokens, phrase_variants, stems
from .query import All, Any, Node, QueryError, Term, muted_term, parse_query
from .records import PaperDoc, Profile


@dataclass(frozen=True, slots=True)
class NaiveDoc:
    """A paper prepared for regex matching: stems joined by spaces, one line per field."""

    key: int
    title: str
    text: str  # title line + "\n" + abstract line
    authors: tuple[str, ...]
    categories: frozenset[str]


class NaiveCorpus(list):
    """Prepared papers, with the acronym table learned from them (as ``PaperIndex.build`` learns it)."""

    acronyms: AcronymTable


def naive_prepare(docs: Iterable[PaperDoc]) -> NaiveCorpus:
    docs = list(docs)
    prepared = NaiveCorpus()
    prepared.acronyms = AcronymTable.from_docs(docs)
    for doc in docs:
        title = " ".join(stems(doc.title))
        prepared.append(
            NaiveDoc(
                key=doc.key,
                title=title,
                text=title + "\n" + " ".join(stems(doc.abstract)),
                authors=tuple(" ".join(name_tokens(a)) for a in doc.authors),
                categories=frozenset(fold(c).strip() for c in doc.categories),
            )
        )
    return prepared


def _pattern(term: Term, acronyms: AcronymTable) -> re.Pattern[str]:
    if term.field == "author":
        variants: list[tuple[str, ...]] = [term.unit]
    else:
        units = [term.unit] + ([] if term.exact else [unit for unit, _ in acronyms.alternatives(term.unit)])
        variants = [v for unit in units for v in phrase_variants(unit)]
    alternatives = "|".join(" ".join(re.escape(s) for s in v) for v in variants)
    return re.compile(rf"(?<!\S)(?:{alternatives})(?!\S)")


def _compile(node: Node, patterns: dict[Term, re.Pattern[str]], acronyms: AcronymTable) -> None:
    """One regex per distinct term of a query, compiled before looping over the papers."""
    if isinstance(node, Term):
        if node.field != "category" and node not in patterns:
            patterns[node] = _pattern(node, acronyms)
    elif isinstance(node, All):
        for child in node.positive + node.negative:
            _compile(child, patterns, acronyms)
    else:
        for child in node.items:
            _compile(child, patterns, acronyms)


def _matches(node: Node, doc: NaiveDoc, patterns: dict[Term, re.Pattern[str]]) -> bool:
    if isinstance(node, Term):
        if node.field == "category":
            return node.unit[0] in doc.categories
        pattern = patterns[node]
        if node.field == "author":
            return any(pattern.search(a) for a in doc.authors)
        return pattern.search(doc.title if node.field == "title" else doc.text) is not None
    if isinstance(node, All):
        return all(_matches(n, doc, patterns) for n in node.positive) and not any(
            _matches(n, doc, patterns) for n in node.negative
        )
    assert isinstance(node, Any)
    return any(_matches(n, doc, patterns) for n in node.items)


def naive_match(docs: Iterable[PaperDoc] | NaiveCorpus, profile: Profile) -> set[int]:
    """Keys of the papers matching any interest of the profile and no muted word (no ranking).

    ``docs`` may be PaperDocs or the output of :func:`naive_prepare` (to prepare a batch once).
    Interests or muted words that do not parse are skipped, as in ``match_profiles``.
    """
    prepared = docs if isinstance(docs, NaiveCorpus) else naive_prepare(docs)
    acronyms = prepared.acronyms
    queries = []
    for text in profile.interests:
        try:
            queries.append(parse_query(text, acronyms=acronyms))
        except QueryError:
            continue
    muted = []
    for word in profile.muted:
        try:
            muted.append(muted_term(word))
        except QueryError:
            continue
    patterns: dict[Term, re.Pattern[str]] = {}
    for query in queries:
        _compile(query.root, patterns, acronyms)
    for term in muted:
        _compile(term, patterns, acronyms)
    found: set[int] = set()
    for doc in prepared:
        if any(_matches(q.root, doc, patterns) for q in queries) and not any(_matches(m, doc, patterns) for m in muted):
            found.add(doc.key)
    return found
