"""A subscriber's learned ranking: TF-IDF of title + abstract and a linear classifier of their feedback.

The way arxiv-sanity ranks by tags: the papers a reader liked are positives, the ones they asked
for less of are negatives; a logistic regression over TF-IDF features then scores new papers by
how likely the reader is to like them. It is used in two places only:

* :func:`matches_rerank` re-orders the papers the keyword interests matched (keywords decide *what*
  is in a digest, the model only decides the order);
* :func:`suggestions_pick` proposes at most a few papers no keyword matched, which the email shows
  under a clearly labelled "You might also like" heading.

Why the features look the way they do: planning scores the same day's papers for thousands of
subscribers, so the expensive part (tokenising title + abstract into words and word pairs) must
happen once per day, not once per subscriber. Words are therefore *hashed* into one fixed feature
space shared by every model (:class:`FeatureMatrix`), each document's term frequencies are
L2-normalised before any model looks at them, and a model's idf weights are folded into its
coefficients. A model is then one sparse weight vector, and scoring a day for one subscriber is a
single sparse matrix-vector product.

Pure: plain documents in, plain numbers out, no ORM. The model is stored as JSON (feature index ->
weight), never pickled, so a database row can never execute code. Training is deterministic (fixed
seed, a stateless hash), so the same feedback always gives the same ordering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from digest.library.combine import min_max

# Below this much feedback a model would learn noise; keyword order is kept until then.
MIN_LIKES = 5
MIN_DISLIKES = 3
# The shared hashed feature space (words and word pairs); collisions are rare at this size.
N_FEATURES = 2**20
# A model keeps its strongest weights only, so a stored model stays small (tens of KB of JSON).
MAX_WEIGHTS = 3000
# Inverse regularisation: a few dozen examples in thousands of dimensions need a light touch.
C = 10.0
SEED = 0
# At most this many "you might also like" papers, and only ones the model is fairly sure about.
SUGGESTIONS_MAX = 3
SUGGESTION_MIN_PROBABILITY = 0.7
# How much the keyword score still counts when re-ordering matched papers (0 = model only).
KEYWORD_WEIGHT = 0.3
FORMAT_VERSION = 2

_HASHER = HashingVectorizer(
    n_features=N_FEATURES,
    ngram_range=(1, 2),
    stop_words="english",
    strip_accents="unicode",
    lowercase=True,
    alternate_sign=False,
    norm=None,
    dtype=np.float64,
)


class TextDoc(Protocol):
    """What the ranker reads from a paper; :class:`digest.matching.PaperDoc` fits."""

    @property
    def key(self) -> Any: ...
    @property
    def title(self) -> str: ...
    @property
    def abstract(self) -> str: ...


def doc_text(doc: TextDoc) -> str:
    # The title says what the paper is about more densely than the abstract: count it twice.
    return f"{doc.title}. {doc.title}. {doc.abstract}"


class FeatureMatrix:
    """Papers as rows of L2-normalised, sublinear term frequencies in the shared hashed space.

    Build it once for a day's papers and score it with any number of models.
    """

    def __init__(self, docs: Sequence[TextDoc]) -> None:
        self.keys = [doc.key for doc in docs]
        self.row = {key: i for i, key in enumerate(self.keys)}
        if not docs:
            self.matrix = sparse.csr_matrix((0, N_FEATURES))
            return
        counts = sparse.csr_matrix(_HASHER.transform([doc_text(d) for d in docs]))
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf: the 5th "model" adds less than the 1st
        self.matrix = normalize(counts, norm="l2", copy=False)

    def __len__(self) -> int:
        return len(self.keys)

    def document_frequency(self) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, number of papers containing each) over these papers."""
        present = self.matrix.copy()
        present.data[:] = 1.0
        df = np.asarray(present.sum(axis=0)).ravel()
        indices = np.flatnonzero(df)
        return indices, df[indices]

    def probabilities(self, model: LearnedRanker, keys: Sequence[Any] | None = None) -> np.ndarray:
        rows = self.matrix if keys is None else self.matrix[[self.row[k] for k in keys]]
        return 1.0 / (1.0 + np.exp(-(rows @ model.column() + model.intercept)))


@dataclass(frozen=True)
class LearnedRanker:
    """One reader's model: weights (coefficient x idf) on the hashed features their papers have."""

    indices: tuple[int, ...]
    weights: tuple[float, ...]
    intercept: float
    n_likes: int
    n_dislikes: int

    def column(self) -> np.ndarray:
        """The weights as a dense vector over the whole feature space (8 MB; built per scoring call)."""
        dense = np.zeros(N_FEATURES)
        dense[np.asarray(self.indices, dtype=np.int64)] = self.weights
        return dense

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "n_features": N_FEATURES,
            "indices": list(self.indices),
            "weights": list(self.weights),
            "intercept": self.intercept,
            "n_likes": self.n_likes,
            "n_dislikes": self.n_dislikes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LearnedRanker | None:
        """The stored model, or None when there is none (or it is of another format: retrain)."""
        if not data or data.get("version") != FORMAT_VERSION or data.get("n_features") != N_FEATURES:
            return None
        return cls(
            indices=tuple(int(i) for i in data["indices"]),
            weights=tuple(float(w) for w in data["weights"]),
            intercept=float(data["intercept"]),
            n_likes=int(data.get("n_likes", 0)),
            n_dislikes=int(data.get("n_dislikes", 0)),
        )


def ranker_ready(*, n_likes: int, n_dislikes: int) -> bool:
    return n_likes >= MIN_LIKES and n_dislikes >= MIN_DISLIKES


def ranker_train(
    *,
    liked: Sequence[TextDoc],
    disliked: Sequence[TextDoc],
    background: Sequence[TextDoc] | FeatureMatrix = (),
    prior: Sequence[TextDoc] = (),
) -> LearnedRanker | None:
    """Train a reader's model; None until they gave enough feedback (see ``MIN_LIKES``/``MIN_DISLIKES``).

    ``background`` (recent papers; pass a FeatureMatrix to share it between many readers) only
    sharpens the idf weights: a word every paper uses says little about what this reader likes.
    ``prior``: the papers of the reader's library (issue 17), positives as good as a like: they are
    papers the reader chose to keep. They count towards ``MIN_LIKES``, so a reader with a library
    gets a model after a few "less like this" clicks.
    """
    known = {doc.key for doc in liked}
    liked = [*liked, *(doc for doc in prior if doc.key not in known)]
    if not ranker_ready(n_likes=len(liked), n_dislikes=len(disliked)):
        return None
    train = FeatureMatrix([*liked, *disliked])
    labels = np.array([1] * len(liked) + [0] * len(disliked))
    if not isinstance(background, FeatureMatrix):
        background = FeatureMatrix(background)
    df = np.zeros(N_FEATURES)
    for matrix in (train, background):
        indices, counts = matrix.document_frequency()
        df[indices] += counts
    n = len(train) + len(background)
    # Only the features the reader's papers have can get a weight (the others are zero in every
    # training row, so L2 regularisation keeps them at exactly zero): train in that small space.
    used = np.unique(train.matrix.indices)
    idf = np.log((1.0 + n) / (1.0 + df[used])) + 1.0  # scikit-learn's smooth idf
    features = train.matrix[:, used] @ sparse.diags(idf)
    classifier = LogisticRegression(C=C, class_weight="balanced", solver="lbfgs", max_iter=1000, random_state=SEED)
    classifier.fit(features, labels)
    weights = classifier.coef_[0] * idf
    if len(used) > MAX_WEIGHTS:
        # Strongest first; ties by feature index, so the cut is deterministic.
        keep = np.sort(np.lexsort((used, -np.abs(weights)))[:MAX_WEIGHTS])
        used, weights = used[keep], weights[keep]
    return LearnedRanker(
        indices=tuple(int(i) for i in used),
        weights=tuple(round(float(w), 8) for w in weights),
        intercept=round(float(classifier.intercept_[0]), 8),
        n_likes=len(liked),
        n_dislikes=len(disliked),
    )


def rank(model: LearnedRanker, docs: Sequence[TextDoc], *, features: FeatureMatrix | None = None) -> list[float]:
    """The probability, per doc and in the same order, that the reader likes it.

    ``features`` (a FeatureMatrix holding at least these docs) saves tokenising them again.
    """
    if not docs:
        return []
    if features is None:
        features = FeatureMatrix(docs)
    if 2 * len(docs) >= len(features):
        # Most of the matrix: scoring every row beats copying the selected rows out first.
        everything = features.probabilities(model)
        return [float(everything[features.row[d.key]]) for d in docs]
    return [float(p) for p in features.probabilities(model, [d.key for d in docs])]


def matches_rerank(
    model: LearnedRanker,
    docs: Sequence[TextDoc],
    keyword_scores: Mapping[Any, float],
    *,
    features: FeatureMatrix | None = None,
) -> list[tuple[Any, float]]:
    """Keyword-matched docs re-ordered by a blend of the model and the keyword score, best first.

    ``keyword_scores`` maps each doc key to its matching score; the blend keeps a strong keyword
    match from sinking below a weak one on a single stray word the model happens to dislike.
    Ties keep the keyword order (stable sort), so the result is fully deterministic.

    Both are min-max normalised over the docs being ordered before they are blended (CombSUM with
    min-max, as :mod:`digest.library.combine` fuses keyword and library scores), so each weighs what
    ``KEYWORD_WEIGHT`` says. A model trained on a few dozen examples is not calibrated across unseen
    papers: its probabilities for one day's matches sit in a narrow band (they share few words with
    the training papers; on the feedback replay a median range of 0.18 and standard deviation of
    0.04 per list), so blended raw, the keyword score's wider spread decided most of the order and
    the model's 70 % was nominal. Normalised over the list, the model's order counts as meant.
    """
    probabilities = min_max(rank(model, docs, features=features))
    keyword = min_max([keyword_scores.get(doc.key, 0.0) for doc in docs])
    blended = [
        (doc.key, (1 - KEYWORD_WEIGHT) * p + KEYWORD_WEIGHT * k)
        for doc, p, k in zip(docs, probabilities, keyword, strict=True)
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
    features: FeatureMatrix | None = None,
) -> list[tuple[Any, float]]:
    """Up to ``limit`` (never more than ``SUGGESTIONS_MAX``) docs not in ``exclude`` (the keyword
    matches, papers already sent or disliked) that the model likes with at least
    ``min_probability``, best first; ties by key for stability."""
    threshold = SUGGESTION_MIN_PROBABILITY if min_probability is None else min_probability
    pool = [d for d in docs if d.key not in exclude]
    scored = [(d.key, p) for d, p in zip(pool, rank(model, pool, features=features), strict=True) if p >= threshold]
    scored.sort(key=lambda kv: (-kv[1], str(kv[0])))
    return scored[: max(0, min(limit, SUGGESTIONS_MAX))]
