"""Training rankers from feedback (the batched task) and applying them when a digest is planned."""

from __future__ import annotations

import pytest

from digest.feedback.personalise import (
    content_split,
    digests_personalise,
    matches_personalise,
    rankers_load,
    subscriptions_due_for_training,
)
from digest.feedback.ranker import FORMAT_VERSION, MIN_DISLIKES, MIN_LIKES, ranker_train
from digest.feedback.tasks import rankers_retrain_task
from digest.matching import Match, PaperDoc, Reason
from digest.models import Feedback, RankerModel
from tests import factories

pytestmark = pytest.mark.django_db


def vote(subscription, title: str, abstract: str, kind: str) -> Feedback:
    paper = factories.paper_make(title=title, abstract=abstract)
    return Feedback.objects.create(subscription=subscription, paper=paper, kind=kind)


def feedback_enough(subscription) -> None:
    for i in range(MIN_LIKES):
        vote(subscription, f"Concept bottleneck models {i}", "Interpretable concept bottleneck layers.", "like")
    for i in range(MIN_DISLIKES):
        vote(subscription, f"Large language model agents {i}", "Agents built on large language models.", "dislike")


def test_the_task_trains_subscribers_with_new_feedback_and_only_them(ada_digest, bo_digest):
    ada, bo = ada_digest.subscription, bo_digest.subscription
    feedback_enough(ada)
    vote(bo, "One paper", "Only one like so far.", "like")
    assert subscriptions_due_for_training() == [ada.id, bo.id]
    assert rankers_retrain_task.delay().get() == 2
    assert RankerModel.objects.get(subscription=ada).params["version"] == FORMAT_VERSION
    assert RankerModel.objects.get(subscription=bo).params == {}  # below the threshold: keyword order
    assert set(rankers_load(subscription_ids=[ada.id, bo.id])) == {ada.id}
    assert subscriptions_due_for_training() == []  # nothing new since
    vote(bo, "Another paper", "A dislike now.", "dislike")
    assert subscriptions_due_for_training() == [bo.id]


def match(key: int, score: float) -> Match:
    return Match(key, score, (Reason("x", ("x",)),), (), "", ())


def test_personalising_reorders_cuts_to_size_and_adds_labelled_suggestions():
    liked = [PaperDoc(key=100 + i, title="Concept bottleneck models", abstract="Concept bottleneck.") for i in range(5)]
    disliked = [PaperDoc(key=200 + i, title="Language model agents", abstract="Agents.") for i in range(3)]
    model = ranker_train(liked=liked, disliked=disliked)
    day = [
        PaperDoc(key=1, title="Language model agents that plan", abstract="Agents with a language model."),
        PaperDoc(key=2, title="Concept bottleneck for vision", abstract="A concept bottleneck model."),
        PaperDoc(key=3, title="Language model agents again", abstract="More agents."),
        PaperDoc(key=4, title="Sparse concept bottleneck models", abstract="Concept bottleneck, sparse."),
        PaperDoc(key=5, title="Concept bottleneck, already sent", abstract="Concept bottleneck."),
    ]
    keyword = [match(1, 3.0), match(2, 2.9), match(3, 2.8)]
    result = matches_personalise(model=model, matches=keyword, docs=day, exclude={5}, limit=2)
    assert [m.paper_key for m in result.matches] == [2, 1]
    assert [m.paper_key for m in result.suggested] == [4]
    assert result.suggested[0].reasons == ()
    content = content_split([*result.matches, *result.suggested])
    assert [(c["paper"], c["suggested"]) for c in content] == [(2, False), (1, False), (4, True)]


def test_without_a_model_the_keyword_order_is_kept_and_nothing_is_suggested():
    keyword = [match(1, 3.0), match(2, 2.9), match(3, 2.8)]
    result = matches_personalise(model=None, matches=keyword, docs=[], exclude=set(), limit=2)
    assert [m.paper_key for m in result.matches] == [1, 2]
    assert result.suggested == []


def test_the_planner_hook_personalises_only_subscribers_with_a_model(ada_digest, bo_digest):
    ada, bo = ada_digest.subscription, bo_digest.subscription
    feedback_enough(ada)
    rankers_retrain_task.delay()
    day = [
        PaperDoc(key=1, title="Large language model agents that plan", abstract="Agents with a large language model."),
        PaperDoc(key=2, title="Concept bottleneck for vision", abstract="Interpretable concept bottleneck layers."),
        PaperDoc(key=3, title="Interpretable concept bottleneck models", abstract="Concept bottleneck layers, sparse."),
    ]
    keyword = {ada.id: [match(1, 3.0), match(2, 2.0)], bo.id: [match(1, 3.0), match(2, 2.0)]}
    out = digests_personalise(matches=keyword, docs=day, exclude={}, limits={ada.id: 2, bo.id: 1})
    assert [(m.paper_key, bool(m.reasons)) for m in out[ada.id]] == [(2, True), (1, True), (3, False)]
    assert [m.paper_key for m in out[bo.id]] == [1]  # no model: keyword order, cut to size
    assert [c["suggested"] for c in content_split(out[ada.id])] == [False, False, True]
