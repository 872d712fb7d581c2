"""Between the database and the pure ranker: training rankers from feedback, and applying them when planning.

Training runs in a Celery task (``digest.feedback.tasks``), never in a request. Planning calls
:func:`rankers_load` once per batch of subscribers and :func:`matches_personalise` per subscriber.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from digest.content import ContentEntry, ContentMemo, content_from_matches
from digest.db import in_batches
from digest.feedback.ranker import FeatureMatrix, LearnedRanker, matches_rerank, ranker_train, suggestions_pick
from digest.library.selectors import library_imported_docs
from digest.matching import Match, PaperDoc
from digest.models import Feedback, Paper, RankerModel, Subscription
from digest.selectors.papers import paper_docs_ingested_between

logger = logging.getLogger(__name__)

# With a model, the engine is asked for this many times the digest size so re-ranking can promote
# a lower keyword match; the digest is then cut back to the subscriber's size.
RERANK_POOL_FACTOR = 3
# Recent papers that sharpen the idf weights of a model (they are not training examples).
BACKGROUND_DAYS = 30
BACKGROUND_MAX = 2000
SUGGESTION_SNIPPET_CHARS = 300
_VOTES = (Feedback.Kind.LIKE, Feedback.Kind.DISLIKE)


# --------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------


def subscriptions_due_for_training(*, limit: int = 500) -> list[int]:
    """Subscribers with like/dislike feedback newer than their model (or no model yet), oldest model first."""
    rows = (
        Subscription.objects.annotate(last_vote=Max("feedback__id", filter=Q(feedback__kind__in=_VOTES)))
        .filter(last_vote__isnull=False)
        .filter(Q(ranker__isnull=True) | Q(ranker__last_feedback_id__lt=F("last_vote")))
        .order_by(F("ranker__trained_at").asc(nulls_first=True), "id")
        .values_list("id", flat=True)[:limit]
    )
    return list(rows)


def paper_doc(paper: Paper) -> PaperDoc:
    return PaperDoc(key=paper.id, title=paper.title, abstract=paper.abstract)


def training_examples(*, subscription_id: int) -> tuple[list[PaperDoc], list[PaperDoc], int]:
    """(liked, disliked, newest feedback id); papers a moderator hid since still count: the reader judged them."""
    votes = list(
        Feedback.objects.filter(subscription_id=subscription_id, kind__in=_VOTES)
        .select_related("paper")
        .only("id", "kind", "paper__id", "paper__title", "paper__abstract")
        .order_by("id")
    )
    liked = [paper_doc(v.paper) for v in votes if v.kind == Feedback.Kind.LIKE]
    disliked = [paper_doc(v.paper) for v in votes if v.kind == Feedback.Kind.DISLIKE]
    return liked, disliked, max((v.id for v in votes), default=0)


def background_docs(*, now: datetime) -> list[PaperDoc]:
    return paper_docs_ingested_between(start=now - timedelta(days=BACKGROUND_DAYS), end=now)[-BACKGROUND_MAX:]


def ranker_retrain(
    *, subscription_id: int, background: Sequence[PaperDoc] | FeatureMatrix = (), now: datetime | None = None
) -> RankerModel:
    """Train (or clear, below the feedback threshold) one subscriber's model and store it."""
    now = now or timezone.now()
    liked, disliked, last_id = training_examples(subscription_id=subscription_id)
    # The papers of their library are positives too (issue 17).
    prior = library_imported_docs(subscription_id=subscription_id)
    model = ranker_train(liked=liked, disliked=disliked, background=background, prior=prior)
    with transaction.atomic():
        row, _ = RankerModel.objects.update_or_create(
            subscription_id=subscription_id,
            defaults={
                "trained_at": now,
                "last_feedback_id": last_id,
                "n_likes": len(liked),
                "n_dislikes": len(disliked),
                "params": model.to_json() if model else {},
            },
        )
    return row


def rankers_retrain_due(*, limit: int = 500, now: datetime | None = None) -> int:
    """Retrain every subscriber with new feedback (up to ``limit``); one failure never stops the rest."""
    now = now or timezone.now()
    due = subscriptions_due_for_training(limit=limit)
    if not due:
        return 0
    # Tokenised once for the whole batch: only the readers' own papers are tokenised per reader.
    background = FeatureMatrix(background_docs(now=now))
    trained = 0
    for subscription_id in due:
        try:
            ranker_retrain(subscription_id=subscription_id, background=background, now=now)
            trained += 1
        except Exception:  # a bad row or a numerical failure for one reader must not block the others.
            logger.exception("retraining the ranker of subscription %s failed", subscription_id)
    return trained


# --------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------


def rankers_load(*, subscription_ids: Iterable[int]) -> dict[int, LearnedRanker]:
    """The trained models of these subscribers (those below the threshold have none)."""
    models: dict[int, LearnedRanker] = {}
    for batch in in_batches(list(subscription_ids), 2000):
        for sub_id, params in (
            RankerModel.objects.filter(subscription_id__in=batch)
            .exclude(params={})
            .values_list("subscription_id", "params")
        ):
            model = LearnedRanker.from_json(params)
            if model is not None:
                models[sub_id] = model
    return models


def _suggestion(doc: PaperDoc, probability: float) -> Match:
    # No reasons: nothing the reader asked for matched it. That is what marks it as a suggestion.
    abstract = " ".join(doc.abstract.split())
    snippet = (
        abstract
        if len(abstract) <= SUGGESTION_SNIPPET_CHARS
        else abstract[:SUGGESTION_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    )
    return Match(
        paper_key=doc.key, score=round(probability, 4), reasons=(), title_spans=(), snippet=snippet, snippet_spans=()
    )


@dataclass(frozen=True, slots=True)
class Personalised:
    matches: list[Match]  # keyword matches, in the learned order, cut to the digest size
    suggested: list[Match]  # "you might also like": papers no keyword matched


def matches_personalise(
    *,
    model: LearnedRanker | None,
    matches: Sequence[Match],
    docs: Sequence[PaperDoc],
    exclude: set[int],
    limit: int,
    features: FeatureMatrix | None = None,
) -> Personalised:
    """Re-order one subscriber's keyword ``matches`` (already free of papers sent before) with their
    model, cut to ``limit``, and pick a few suggestions among ``docs`` that are neither matched nor
    in ``exclude``. Without a model the keyword order is kept and nothing is suggested.

    Pass ``features`` (``FeatureMatrix(docs)``, built once per planning window) when personalising
    many subscribers over the same papers."""
    if model is None or not matches:
        return Personalised(matches=list(matches[:limit]), suggested=[])
    by_key = {doc.key: doc for doc in docs}
    matched = [m for m in matches if m.paper_key in by_key]
    features = features if features is not None else FeatureMatrix(docs)
    order = matches_rerank(
        model, [by_key[m.paper_key] for m in matched], {m.paper_key: m.score for m in matched}, features=features
    )
    match_by_key = {m.paper_key: m for m in matched}
    ranked = [match_by_key[key] for key, _ in order][:limit]
    taken = {m.paper_key for m in matches} | set(exclude)
    picks = suggestions_pick(model, docs, exclude=taken, features=features)
    return Personalised(matches=ranked, suggested=[_suggestion(by_key[key], p) for key, p in picks])


def digests_personalise(
    *,
    matches: dict[int, list[Match]],
    docs: Sequence[PaperDoc],
    exclude: dict[int, set[int]],
    limits: dict[int, int],
) -> dict[int, list[Match]]:
    """The planner's one call per window: every subscriber's keyword ``matches`` (papers already
    sent removed) re-ordered by their model and cut to ``limits``, with their suggestions appended
    as reason-less matches (store them with :func:`content_split`). The day's papers are tokenised
    once, and only when someone in the window has a model."""
    models = rankers_load(subscription_ids=list(matches))
    features = FeatureMatrix(docs) if models else None
    out: dict[int, list[Match]] = {}
    for sub_id, found in matches.items():
        result = matches_personalise(
            model=models.get(sub_id),
            matches=found,
            docs=docs,
            exclude=exclude.get(sub_id, set()),
            limit=limits[sub_id],
            features=features,
        )
        out[sub_id] = [*result.matches, *result.suggested]
    return out


def content_split(found: Sequence[Match], memo: ContentMemo | None = None) -> list[ContentEntry]:
    """``Delivery.content`` for a flat list where suggestions are the matches without reasons."""
    return content_from_matches([m for m in found if m.reasons], memo=memo) + content_from_matches(
        [m for m in found if not m.reasons], suggested=True, memo=memo
    )
