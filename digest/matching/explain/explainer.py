"""Which of a profile's interests matched each winner, and why (``Explainer``, ``matched_sets``)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..index import PaperIndex, TermHits
from ..query import Query, Term
from ..records import Reason
from .highlighter import EXPLAINED_KEPT, MatchPart, highlighter_of


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
        # Each interest's first key in ``index.parts`` (its number times the papers; + paper).
        self.part_keys = [index.interest_number(text) * len(index) for text in self._texts]

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
        """Interest ``qid``'s part of explaining paper ``doc``, kept on the index by (interest,
        paper): every profile with that interest, in this call and the later ones on the index (the
        planner's next shards), shares it."""
        key = self.part_keys[qid] + doc
        parts = self.index.parts
        found = parts.get(key)
        if found is None:
            reason, terms = self.reason(qid, doc)
            if len(parts) >= EXPLAINED_KEPT:
                # Bounded: a long-lived index (the preview's) starts again. Numbers are never reused,
                # so the keys other explainers hold stay their own.
                parts.clear()
                self.index.interest_numbers.clear()
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
