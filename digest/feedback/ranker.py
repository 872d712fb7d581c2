"""A subscriber's learned ranking: TF-IDF of title + abstract and a linear classifier of their feedback.

The way arxiv-sanity ranks by tags: the papers a reader liked are positives, the ones they asked
for less of are negatives; a logistic regression over TF-IDF features then scores new papers by
how likely the reader is to like them. It is used in two places only:

* :func:`matches_rerank` re-orders the papers the keyword interests matched (keywords decide *what*
  is in a digest, the model only decides the order);
* :func:`suggestions_pick` proposes at most a few papers no keyword matched, which the email shows
  under a clearly labelled "You might also like" heading.

Pure: plain documents in, plain numbers out, no ORM. The model is stored as JSON (vocabulary, idf,
coefficients), never pickled, so a database row can never execute code. Training is deterministic
(fixed seed, sorted vocabulary), so the same feedback always gives the same ordering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

# Below this much feedback a model would learn noise; keyword order is kept until then.
MIN_LIKES = 5
MIN_DISLIKES = 3
# Features kept per model (the stored JSON stays small); the reader's own papers define them.
MAX_FEATURES = 4000
# Inverse regularisation: a few dozen examples in thousands of dimensions need a light touch.
C = 10.0
SEED = 0
# At most this many "you might also like" papers, and only ones the model is fairly sure about.
SUGGESTIONS_MAX = 3
SUGGESTION_MIN_PROBABILITY = 0.7
# How much the keyword score still counts when re-ordering matched papers (0 = model only).
KEYWORD_WEIGHT = 0.3
FORMAT_VERSION = 1


class TextDoc(Protocol):
    """What the ranker reads from a paper; :class:`digest.matching.PaperDoc` fits."""

    @property
    def key(self) -> Any: ...
    @property
    def title(self) -> str: ...
    @property
    def abstract(self) -> str: ...


@dataclass(frozen=True)
class LearnedRanker:
    vocabulary: Mapping[str, int]
    idf: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    n_likes: int
    n_dislikes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "vocabulary": dict(self.vocabulary),
            "idf": list(self.idf),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "n_likes": self.n_likes,
            "n_dislikes": self.n_dislikes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LearnedRanker | None:
        """The stored model, or None when there is none (or it is of an older format)."""
        if not data or data.get("version") != FORMAT_VERSION:
            return None
        return cls(
            vocabulary=dict(data["vocabulary"]),
            idf=tuple(float(x) for x in data["idf"]),
            coef=tuple(float(x) for x in data["coef"]),
            intercept=float(data["intercept"]),
            n_likes=int(data.get("n_likes", 0)),
            n_dislikes=int(data.get("n_dislikes", 0)),
        )


def doc_text(doc: TextDoc) -> str:
    # The title says what the paper is about more densely than the abstract: count it twice.
    return f"{doc.title}. {doc.title}. {doc.abstract}"


def _vectorizer(vocabulary: Mapping[str, int] | None = None) -> TfidfVectorizer:
    return TfidfVectorizer(
        vocabulary=vocabulary,
        ngram_range=(1, 2),
        stop_words="english",
        sublinear_tf=True,
        strip_accents="unicode",
        lowercase=True,
        dtype=np.float64,
    )


def ranker_ready(*, n_likes: int, n_dislikes: int) -> bool:
    return n_likes >= MIN_LIKES and n_dislikes >= MIN_DISLIKES


def ranker_train(
    *, liked: Sequence[TextDoc], disliked: Sequence[TextDoc], background: Sequence[TextDoc] = ()
) -> LearnedRanker | None:
    """Train a reader's model; None until they gave enough feedback (see ``MIN_LIKES``/``MIN_DISLIKES``).

    ``background`` (recent papers) only sharpens the idf weights; the vocabulary comes from the
    reader's own papers, so the stored model stays small whatever the background size.
    """
    if not ranker_ready(n_likes=len(liked), n_dislikes=len(disliked)):
        return None
    texts = [doc_text(d) for d in (*liked, *disliked)]
    labels = np.array([1] * len(liked) + [0] * len(disliked))
    counter = CountVectorizer(
        ngram_range=(1, 2), stop_words="english", strip_accents="unicode", max_features=MAX_FEATURES
    )
    counter.fit(texts)
    # Sorted so that the same words always get the same columns, whatever order they were met in.
    vocabulary = {term: i for i, term in enumerate(sorted(counter.vocabulary_))}
    vectorizer = _vectorizer(vocabulary)
    vectorizer.fit([*texts, *(doc_text(d) for d in background)])
    features = vectorizer.transform(texts)
    classifier = LogisticRegression(C=C, class_weight="balanced", solver="lbfgs", max_iter=1000, random_state=SEED)
    classifier.fit(features, labels)
    return LearnedRanker(
        vocabulary=vocabulary,
        idf=tuple(float(x) for x in vectorizer.idf_),
        coef=tuple(float(x) for x in classifier.coef_[0]),
        intercept=float(classifier.intercept_[0]),
        n_likes=len(liked),
        n_dislikes=len(disliked),
    )


def rank(model: LearnedRanker, docs: Sequence[TextDoc]) -> list[float]:
    """The probability, per doc and in the same order, that the reader likes it."""
    if not docs:
        return []
    vectorizer = _vectorizer(model.vocabulary)
    vectorizer.idf_ = np.array(model.idf, dtype=np.float64)
    features = vectorizer.transform([doc_text(d) for d in docs])
    logits = features @ np.array(model.coef, dtype=np.float64) + model.intercept
    return [float(p) for p in 1.0 / (1.0 + np.exp(-logits))]


def matches_rerank(
    model: LearnedRanker, docs: Sequence[TextDoc], keyword_scores: Mapping[Any, float]
) -> list[tuple[Any, float]]:
    """Keyword-matched docs re-ordered by a blend of the model and the keyword score, best first.

    ``keyword_scores`` maps each doc key to its matching score; the blend keeps a strong keyword
    match from sinking below a weak one on a single stray word the model happens to dislike.
    Ties keep the keyword order (stable sort), so the result is fully deterministic.
    """
    probabilities = rank(model, docs)
    top = max((abs(s) for s in keyword_scores.values()), default=0.0) or 1.0
    blended = [
        (doc.key, (1 - KEYWORD_WEIGHT) * p + KEYWORD_WEIGHT * keyword_scores.get(doc.key, 0.0) / top)
        for doc, p in zip(docs, probabilities, strict=True)
    ]
    by_keyword = sorted(blended, key=lambda kv: -keyword_scores.get(kv[0], 0.0))
    return sorted(by_keyword, key=lambda kv: -kv[1])


def suggestions_pick(
    model: LearnedRanker,
    docs: Sequence[TextDoc],
    *,
    exclude: set[Any] = frozenset(),  # type: ignore[assignment]
    limit: int = SUGGESTIONS_MAX,
    min_probability: float | None = None,
) -> list[tuple[Any, float]]:
    """Up to ``limit`` docs not in ``exclude`` (the keyword matches, papers already sent or disliked)
    that the model likes with at least ``min_probability``, best first; ties by key for stability."""
    threshold = SUGGESTION_MIN_PROBABILITY if min_probability is None else min_probability
    pool = [d for d in docs if d.key not in exclude]
    scored = [(d.key, p) for d, p in zip(pool, rank(model, pool), strict=True) if p >= threshold]
    scored.sort(key=lambda kv: (-kv[1], str(kv[0])))
    return scored[: max(0, min(limit, SUGGESTIONS_MAX))]
