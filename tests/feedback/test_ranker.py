"""The learned ranker: deterministic, needs enough feedback, learns what a reader likes."""

from __future__ import annotations

import json

import pytest

from digest.feedback.ranker import (
    SUGGESTION_MIN_PROBABILITY,
    SUGGESTIONS_MAX,
    LearnedRanker,
    matches_rerank,
    rank,
    ranker_train,
    suggestions_pick,
)
from digest.matching import PaperDoc


@pytest.fixture
def docs(corpus_rows) -> list[PaperDoc]:
    return [PaperDoc(key=i, title=r["title"], abstract=r["abstract"]) for i, r in enumerate(corpus_rows)]


def about(docs, word: str, *, unless: str = "\0") -> list[PaperDoc]:
    return [d for d in docs if word in d.title.lower() and unless not in d.title.lower()]


def topics(docs) -> tuple[list[PaperDoc], list[PaperDoc]]:
    """Two readers' worlds in the corpus: information/concept bottlenecks, and large language models."""
    return about(docs, "bottleneck", unless="language"), about(docs, "large language model", unless="bottleneck")


def auc(positive: list[float], negative: list[float]) -> float:
    pairs = [(p > n) + 0.5 * (p == n) for p in positive for n in negative]
    return sum(pairs) / len(pairs)


def test_no_model_below_five_likes_and_three_dislikes(docs):
    liked, disliked = topics(docs)
    assert ranker_train(liked=liked[:4], disliked=disliked[:3]) is None
    assert ranker_train(liked=liked[:5], disliked=disliked[:2]) is None
    assert ranker_train(liked=liked[:5], disliked=disliked[:3]) is not None


def test_a_library_is_a_prior_a_reader_needs_fewer_likes_with(docs):
    liked, disliked = topics(docs)
    library = liked[5:8]
    assert ranker_train(liked=liked[:2], disliked=disliked[:3], prior=library) is not None
    model = ranker_train(liked=liked[:2], disliked=disliked[:3], prior=library)
    unseen_liked, unseen_disliked = rank(model, liked[8:]), rank(model, disliked[3:])
    assert auc(unseen_liked, unseen_disliked) > 0.8


def test_the_same_feedback_always_gives_the_same_ordering(docs):
    liked, disliked = topics(docs)[0][:6], topics(docs)[1][:4]
    orders = []
    for background in (docs, list(reversed(docs))):
        model = ranker_train(liked=liked, disliked=disliked, background=background)
        scores = rank(model, docs)
        orders.append(sorted(range(len(docs)), key=lambda i: (-scores[i], i))[:20])
    assert orders[0] == orders[1]
    again = ranker_train(liked=liked, disliked=disliked, background=docs)
    assert again == ranker_train(liked=liked, disliked=disliked, background=docs)


def test_a_stored_model_ranks_exactly_like_the_trained_one(docs):
    model = ranker_train(liked=topics(docs)[0][:6], disliked=topics(docs)[1][:4])
    stored = LearnedRanker.from_json(json.loads(json.dumps(model.to_json())))
    assert rank(stored, docs) == rank(model, docs)
    assert LearnedRanker.from_json({}) is None
    assert LearnedRanker.from_json({"version": 0}) is None


def test_the_model_puts_unseen_papers_like_the_liked_ones_first(docs):
    bottleneck, llm = topics(docs)
    model = ranker_train(liked=bottleneck[:5], disliked=llm[:4], background=docs)
    held_out_liked, held_out_disliked = bottleneck[5:], llm[4:]
    assert len(held_out_liked) >= 5 and len(held_out_disliked) >= 10
    scores = dict(zip([d.key for d in docs], rank(model, docs), strict=True))
    assert auc([scores[d.key] for d in held_out_liked], [scores[d.key] for d in held_out_disliked]) >= 0.9


def test_rerank_orders_matches_by_the_model_blended_with_keyword_score(docs):
    bottleneck, llm = topics(docs)
    model = ranker_train(liked=bottleneck[:5], disliked=llm[:4], background=docs)
    matched = [llm[5], bottleneck[5], llm[6], bottleneck[6]]
    # Equal keyword scores: the model decides.
    order = [key for key, _ in matches_rerank(model, matched, {d.key: 1.0 for d in matched})]
    assert set(order[:2]) == {bottleneck[5].key, bottleneck[6].key}
    # The keyword score still counts: the paper the model likes least, with the strongest keyword
    # match, ranks above where the model alone puts it.
    least = order[-1]
    strong = {d.key: 0.1 for d in matched} | {least: 100.0}
    assert [key for key, _ in matches_rerank(model, matched, strong)].index(least) < len(order) - 1


def test_rerank_follows_a_model_whose_probabilities_are_close_together(docs):
    """An uncalibrated model's probabilities span a narrow band; its order counts all the same."""
    bottleneck, llm = topics(docs)
    matched = [llm[5], bottleneck[5], llm[6], bottleneck[6]]
    trained = ranker_train(liked=bottleneck[:5], disliked=llm[:4], background=docs)
    # The same model's weights scaled down: the same order, probabilities within ~0.01 of 0.5.
    timid = LearnedRanker(
        indices=trained.indices,
        weights=tuple(w / 100 for w in trained.weights),
        intercept=0.0,
        n_likes=trained.n_likes,
        n_dislikes=trained.n_dislikes,
    )
    probabilities = rank(timid, matched)
    assert max(probabilities) - min(probabilities) < 0.05
    favourite = max(matched, key=lambda d: probabilities[matched.index(d)]).key
    # One other paper matched the keywords a little better (0.1 of 1): the model's favourite still leads.
    keyword = {d.key: 0.9 for d in matched} | {llm[5].key: 1.0}
    assert favourite != llm[5].key
    assert matches_rerank(timid, matched, keyword)[0][0] == favourite


def test_rerank_keeps_keyword_order_when_the_model_cannot_tell_the_papers_apart(docs):
    bottleneck, llm = topics(docs)
    model = ranker_train(liked=bottleneck[:5], disliked=llm[:4], background=docs)
    twins = [PaperDoc(key=100 + i, title=llm[5].title, abstract=llm[5].abstract) for i in range(3)]
    keyword = {100: 0.2, 101: 0.9, 102: 0.5}
    assert [key for key, _ in matches_rerank(model, twins, keyword)] == [101, 102, 100]


def test_suggestions_are_few_confident_and_never_excluded_papers(docs):
    bottleneck, llm = topics(docs)
    model = ranker_train(liked=bottleneck[:5], disliked=llm[:4], background=docs)
    excluded = {d.key for d in bottleneck[:8]}
    picks = suggestions_pick(model, docs, exclude=excluded, limit=10)
    assert 0 < len(picks) <= SUGGESTIONS_MAX
    assert not excluded & {key for key, _ in picks}
    assert all(p >= SUGGESTION_MIN_PROBABILITY for _, p in picks)
    assert picks == suggestions_pick(model, docs, exclude=excluded, limit=10)
