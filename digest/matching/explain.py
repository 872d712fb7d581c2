"""Reasons, highlight spans and snippets, for the final top matches only, when first read.

``match_profiles`` hands out one Match per (subscriber, paper) in the top N.  Creating a million
fully explained objects would cost more than the whole match, so each is a ``_LazyMatch``: its
reasons (which interests and words matched), title spans and snippet are worked out on first
access and cached per (interest, paper) and per (paper, words), where subscribers share them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat

import numpy as np

from .acronyms import describe
from .highlight import ELLIPSIS, Spans, snippet_window, spans_merge, spans_merge_pairs
from .index import PaperIndex, TermHits, token_spans
from .normalize import has_spelling_variant, spelled
from .query import TEXT, Query, Term
from .records import Match, Profile, Reason


@dataclass(frozen=True, slots=True, eq=False)
class MatchPart:
    """What one interest contributes to explaining one paper: its reason, its terms found there, their
    title spans (merged), their occurrences in the abstract, and the rarest of them found in the abstract
    (which anchors the snippet). A match's explanation is composed from its matched interests' parts
    (``Highlighter.compose``), so a paper matched by a new combination of interests costs a merge, not
    a new search. Compared by identity (it is cached; a dict key stays cheap)."""

    reason: Reason
    terms: tuple[Term, ...]
    title: Spans
    abstract: tuple[tuple[int, int], ...]
    anchor: Term | None
    anchor_df: int
    window: tuple[int, int, str]  # the snippet window around the anchor (``Highlighter._window``)


class Highlighter:
    """Spans and snippets of one index's papers, computed on demand and cached.

    One per index (``highlighter_of``), shared by every ``match_profiles`` call on it -- the
    planner's shards of one window -- so a term's occurrences in a paper are found once per window;
    a race between threads only computes the same value twice. Caches are keyed by the terms'
    values (a term parsed again in a later call is the same key).
    """

    def __init__(self, index: PaperIndex) -> None:
        self.index = index
        self.title_start = index.title_start.tolist()
        self.abstract_start = index.abstract_start.tolist()
        self.doc_end = index.doc_end.tolist()
        self.terms: dict[Term, tuple[TermHits, list[int], list[int]]] = {}
        self.offsets: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        self.occurrences: dict[tuple[int, Term], tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        self.windows: dict[tuple[int, Term | None], tuple[int, int, str]] = {}
        self.results: dict[tuple[int, tuple[Term, ...]], tuple[Spans, str, Spans]] = {}

    def bound(self) -> None:
        """A long-lived index (the planner's window, the preview's) keeps at most EXPLAINED_KEPT of each."""
        if len(self.occurrences) >= EXPLAINED_KEPT or len(self.results) >= EXPLAINED_KEPT:
            self.occurrences, self.windows, self.results = {}, {}, {}

    def term(self, term: Term) -> tuple[TermHits, list[int], list[int]]:
        """A term's hits, with its occurrence starts and lengths as Python lists (for bisect)."""
        found = self.terms.get(term)
        if found is None:
            hits = self.index.term_hits(term)
            found = (hits, hits.starts.tolist(), hits.lengths.tolist())
            self.terms[term] = found
        return found

    def _doc_offsets(self, doc: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        found = self.offsets.get(doc)
        if found is None:
            paper = self.index.docs[doc]
            found = (token_spans(paper.title), token_spans(paper.abstract))
            self.offsets[doc] = found
        return found

    def _occurrences(self, doc: int, term: Term) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(title spans, abstract spans) of one term in one paper, in original characters."""
        key = (doc, term)
        found = self.occurrences.get(key)
        if found is not None:
            return found
        title: list[tuple[int, int]] = []
        abstract: list[tuple[int, int]] = []
        if term.field in (TEXT, "title"):
            _, starts, lengths = self.term(term)
            title_offsets, abstract_offsets = self._doc_offsets(doc)
            title_start, abstract_start = self.title_start[doc], self.abstract_start[doc]
            for i in range(bisect_left(starts, title_start), bisect_left(starts, self.doc_end[doc])):
                pos, length = starts[i], lengths[i]
                if pos < abstract_start:
                    offsets, out, first = title_offsets, title, pos - title_start
                else:
                    offsets, out, first = abstract_offsets, abstract, pos - abstract_start
                last = first + length - 1
                if last < len(offsets):  # the tokenizers disagree only on exotic Unicode
                    out.append((offsets[first][0], offsets[last][1]))
        found = (title, abstract)
        self.occurrences[key] = found
        return found

    def label(self, doc: int, term: Term) -> str:
        """How the term shows in a reason: as written, or, when the paper has it only another way,
        how it was found ("LLM, as 'large language model'", "optimisation, as 'optimization'")."""
        hits, starts, _ = self.term(term)
        if hits.alternatives:
            first = bisect_left(starts, self.title_start[doc])
            last = bisect_left(starts, self.doc_end[doc])
            forms = hits.forms[first:last]
            if len(forms) and not (forms == 0).any():
                return describe(term.text, hits.alternatives[int(forms.min()) - 1])
        if term.field in (TEXT, "title") and has_spelling_variant(term.text):
            return self._spelling_label(doc, term)
        return term.text

    def _spelling_label(self, doc: int, term: Term) -> str:
        """The term, and the other spelling the paper uses when it never uses the term's own."""
        title, abstract = self._occurrences(doc, term)
        paper = self.index.docs[doc]
        found = [paper.title[s:e] for s, e in title] + [paper.abstract[s:e] for s, e in abstract]
        written = spelled(term.text)
        if not found or any(spelled(text) == written for text in found):
            return term.text
        # A lower-case occurrence when the paper has one, else the first, lower-cased (a title's "Optimization").
        shown = next((text for text in found if text == text.lower()), found[0].lower())
        return f"{term.text}, as '{shown}'"

    def spans(self, doc: int, terms: tuple[Term, ...]) -> tuple[Spans, str, Spans]:
        """(title spans, snippet, snippet spans) of ``terms`` in paper ``doc``: the reference for
        ``compose`` (a property test checks they agree), and what a match outside the planner uses."""
        key = (doc, terms)
        found = self.results.get(key)
        if found is not None:
            return found
        title: list[tuple[int, int]] = []
        anchor: Term | None = None
        anchor_df = 0
        for term in terms:
            in_title, in_abstract = self._occurrences(doc, term)
            title += in_title
            df = len(self.term(term)[0].docs)
            if in_abstract and (anchor is None or df < anchor_df):  # the rarest word anchors the snippet
                anchor, anchor_df = term, df
        start, end, snippet = self._window(doc, anchor)
        shift = (len(ELLIPSIS) if start > 0 else 0) - start
        inside = [
            (s + shift, e + shift)
            for term in terms
            for s, e in self._occurrences(doc, term)[1]
            if s >= start and e <= end
        ]
        found = (spans_merge(title), snippet, spans_merge(inside))
        self.results[key] = found
        return found

    def _window(self, doc: int, anchor: Term | None) -> tuple[int, int, str]:
        """The snippet window of paper ``doc`` around the first occurrence of ``anchor`` in its abstract."""
        window_key = (doc, anchor)
        window = self.windows.get(window_key)
        if window is None:
            first_hit = self._occurrences(doc, anchor)[1][0][0] if anchor is not None else 0
            window = snippet_window(self.index.docs[doc].abstract, first_hit)
            self.windows[window_key] = window
        return window

    def part(self, doc: int, reason: Reason, terms: tuple[Term, ...]) -> MatchPart:
        """One interest's part of explaining paper ``doc`` (see :class:`MatchPart`)."""
        title: list[tuple[int, int]] = []
        abstract: list[tuple[int, int]] = []
        anchor: Term | None = None
        anchor_df = 0
        for term in terms:
            in_title, in_abstract = self._occurrences(doc, term)
            title += in_title
            abstract += in_abstract
            df = len(self.term(term)[0].docs)
            if in_abstract and (anchor is None or df < anchor_df):  # as in ``spans``: first rarest
                anchor, anchor_df = term, df
        return MatchPart(
            reason, terms, spans_merge_pairs(title), tuple(abstract), anchor, anchor_df, self._window(doc, anchor)
        )

    def compose(self, doc: int, parts: Sequence[MatchPart]) -> tuple[Spans, str, Spans]:
        """``spans(doc, the parts' terms, deduplicated in order)`` from the parts alone.

        Equal because: spans are merged (a term two parts share adds the same spans again, which merge
        away), and the snippet's anchor -- the first of the rarest terms in the union -- is the first
        rarest of the first part holding one of the rarest terms, i.e. the part anchors' minimum by
        (document frequency, part order)."""
        best = parts[0]
        if len(parts) == 1:
            title = best.title
        else:
            titled = [p.title for p in parts if p.title]
            title = titled[0] if len(titled) == 1 else spans_merge_pairs([span for t in titled for span in t])
            for p in parts[1:]:
                if p.anchor is not None and (best.anchor is None or p.anchor_df < best.anchor_df):
                    best = p
        start, end, snippet = best.window
        shift = (len(ELLIPSIS) if start > 0 else 0) - start
        inside = [(s + shift, e + shift) for p in parts for s, e in p.abstract if s >= start and e <= end]
        return title, snippet, spans_merge_pairs(inside)


def highlighter_of(index: PaperIndex) -> Highlighter:
    """The index's one Highlighter (made on first use)."""
    found = index.highlighter
    if found is None:
        found = index.highlighter = Highlighter(index)
    return found


class Explainer:
    """Everything needed to explain the matches of one ``match_profiles`` call, on demand."""

    def __init__(
        self,
        index: PaperIndex,
        queries: list[Query],
        profile_q: np.ndarray,
        profile_q_indptr: np.ndarray,
        query_docs: list[np.ndarray],
    ) -> None:
        self.index = index
        self.queries = queries
        self.profile_q = profile_q
        self.profile_q_indptr = profile_q_indptr
        self.query_docs = query_docs  # sorted paper indexes each query matched
        self.highlighter = highlighter_of(index)
        self.highlighter.bound()
        self._reasons: dict[tuple[int, int], tuple[Reason, tuple[Term, ...]]] = {}
        self._query_sets: dict[int, set[int]] = {}
        self._texts = [q.text for q in queries]

    def reason(self, qid: int, doc: int) -> tuple[Reason, tuple[Term, ...]]:
        """The reason one interest gives for one paper, and the terms to highlight."""
        key = (qid, doc)
        found = self._reasons.get(key)
        if found is None:
            query = self.queries[qid]
            shared = self.index.reasons.get((query.text, doc))
            if shared is not None:
                # Worked out by an earlier call on this index: the same terms, in this call's objects.
                reason, positions = shared
                terms = (*query.terms, *query.joins)
                found = self._reasons[key] = (reason, tuple(terms[i] for i in positions))
                return found

            def hit(term: Term) -> TermHits:
                return self.highlighter.term(term)[0]

            present = tuple(t for t in query.terms if hit(t).mask[doc]) + tuple(
                j for j in query.joins if hit(j).mask[doc] and not all(hit(p).mask[doc] for p in j.parts)
            )
            words = tuple(dict.fromkeys(t.text for t in present))
            labels = {t.text: self.highlighter.label(doc, t) for t in reversed(present)}  # first one wins
            described = tuple(labels[w] for w in words)
            found = (Reason(query.text, words, () if described == words else described), present)
            self._reasons[key] = found
            if len(self.index.reasons) >= EXPLAINED_KEPT:
                self.index.reasons.clear()
            # By position in the query's terms: the same text parses to the same terms in every call.
            all_terms = (*query.terms, *query.joins)
            positions = tuple(next(i for i, t in enumerate(all_terms) if t is p) for p in present)
            self.index.reasons[(query.text, doc)] = (found[0], positions)
        return found

    def _matches(self, qid: int, doc: int) -> bool:
        found = self._query_sets.get(qid)
        if found is None:
            found = self._query_sets[qid] = set(self.query_docs[qid].tolist())
        return doc in found

    def part(self, qid: int, doc: int) -> MatchPart:
        """Interest ``qid``'s part of explaining paper ``doc``, kept on the index by (interest text,
        paper): every profile with that interest, in this call and the later ones on the index (the
        planner's next shards), shares it."""
        key = (self._texts[qid], doc)
        parts = self.index.parts
        found = parts.get(key)
        if found is None:
            reason, terms = self.reason(qid, doc)
            if len(parts) >= EXPLAINED_KEPT:
                parts.clear()  # bounded: a long-lived index (the preview's) starts again
            found = parts[key] = self.highlighter.part(doc, reason, terms)
        return found

    def parts(self, doc: int, matched: tuple[int, ...]) -> tuple[MatchPart, ...]:
        """The parts of the interests ``matched`` (ids, in the profile's order) for paper ``doc``."""
        return tuple([self.part(q, doc) for q in matched])

    def explained(self, doc: int, matched: tuple[int, ...]) -> tuple:
        """(reasons, title spans, snippet, snippet spans) of one match: composed from the parts of the
        interests that matched (they depend only on the paper and on which of the profile's interests
        matched it, in the profile's order; muted words remove papers, they change no explanation).
        The reference, without the parts, is ``explain`` + ``Highlighter.spans`` (a property test)."""
        parts = self.parts(doc, matched)
        return (tuple([p.reason for p in parts]), *self.highlighter.compose(doc, parts))

    def explain(self, row: int, doc: int) -> tuple[tuple[Reason, ...], tuple[Term, ...]]:
        """Reasons (the profile's interests that matched, in its order) and their terms: the reference
        for ``matched_sets`` + ``explained``, interest by interest."""
        first, last = int(self.profile_q_indptr[row]), int(self.profile_q_indptr[row + 1])
        return self._explain_matched([q for q in self.profile_q[first:last].tolist() if self._matches(q, doc)], doc)

    def _explain_matched(self, matched: list[int], doc: int) -> tuple[tuple[Reason, ...], tuple[Term, ...]]:
        found = [self.reason(q, doc) for q in matched]
        terms = found[0][1] if len(found) == 1 else tuple(dict.fromkeys(t for _, ts in found for t in ts))
        return tuple(r for r, _ in found), terms


def matched_sets(
    query_docs: list[np.ndarray],
    ndocs: int,
    profile_q: np.ndarray,
    profile_q_indptr: np.ndarray,
    rows: np.ndarray,
    docs: np.ndarray,
) -> list[tuple[int, ...]]:
    """For every winner (profile row, paper), the profile's interests (ids, in its order) that matched
    the paper, for all winners at once: each (interest, paper) pair is looked up among every
    interest's matches with one sorted search. ``Explainer.explain`` is the one-at-a-time reference."""
    if not len(rows):
        return []
    # Interest q matched paper d  <=>  q * ndocs + d is among these keys (sorted: ids ascending, and
    # each interest's papers ascending).
    lengths = np.fromiter((len(found) for found in query_docs), dtype=np.int64, count=len(query_docs))
    known = np.repeat(np.arange(len(query_docs), dtype=np.int64) * ndocs, lengths)
    if len(known):
        known += np.concatenate(query_docs)
    first = profile_q_indptr[rows]
    counts = profile_q_indptr[rows + 1] - first
    winner = np.repeat(np.arange(len(rows)), counts)
    offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    qids = profile_q[np.repeat(first, counts) + offset].astype(np.int64)
    wanted = qids * ndocs + docs[winner]
    at = np.minimum(np.searchsorted(known, wanted), max(len(known) - 1, 0))
    hit = known[at] == wanted if len(known) else np.zeros(len(wanted), dtype=bool)
    found_ids = qids[hit].tolist()
    bounds = np.concatenate(([0], np.cumsum(np.bincount(winner[hit], minlength=len(rows))))).tolist()
    return [tuple(found_ids[a:b]) for a, b in pairwise(bounds)]


EXPLAINED_KEPT = 500_000  # explanations an index keeps (a few hundred bytes each)


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
    fields instead). What the planner needs to store a match without making its explanation objects."""
    if type(match) is not _LazyMatch:
        return None
    _, _, explainer, _, doc, matched = match._d
    if explainer is None:
        return None
    return doc, explainer.parts(doc, matched), explainer.highlighter


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
            part = explainer.index.parts.get((explainer._texts[matched[0]], doc))
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
