"""Spans and snippets of one index's papers (``Highlighter``), and one interest's part of explaining a
paper (``MatchPart``), from which a match's explanation is composed."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from ..acronyms import describe
from ..highlight import Spans, snippet_shift, snippet_window, spans_merge, spans_merge_pairs
from ..index import PaperIndex, TermHits, token_spans
from ..normalize import has_spelling_variant, spelled
from ..query import TEXT, Term
from ..records import Reason

EXPLAINED_KEPT = 500_000  # explanations an index keeps (a few hundred bytes each)
# A term's occurrences in a paper, and snippet windows, a highlighter keeps (~400 bytes each with the
# window's text). Fewer than the explanations: they are only what a new part is made of, and the parts
# are kept on the index (measured at a million subscribers: bounded with the explanations, these were
# ~125 MiB of a planner after 60 shards and still growing; at this bound the peak is flat after ~80 shards).
INGREDIENTS_KEPT = 100_000


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
        """A long-lived index (the planner's window, the preview's) keeps at most INGREDIENTS_KEPT
        occurrences and windows, and EXPLAINED_KEPT results; past that, each starts again."""
        if len(self.occurrences) >= INGREDIENTS_KEPT or len(self.windows) >= INGREDIENTS_KEPT:
            self.occurrences, self.windows = {}, {}
        if len(self.results) >= EXPLAINED_KEPT:
            self.results = {}

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
        shift = snippet_shift(start)
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
        shift = snippet_shift(start)
        inside = [(s + shift, e + shift) for p in parts for s, e in p.abstract if s >= start and e <= end]
        return title, snippet, spans_merge_pairs(inside)


def highlighter_of(index: PaperIndex) -> Highlighter:
    """The index's one Highlighter (made on first use)."""
    found = index.highlighter
    if found is None:
        found = index.highlighter = Highlighter(index)
    return found
