"""Personas of the feedback tests: Ada (diffusion, video generation) and Bo (reasoning, LLM), one paper
each was sent in a digest. Clients enforce CSRF like a browser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from digest.models import Delivery, Paper, Subscription
from tests import factories
from tests.conftest import CORPUS_PATH, shared_file


class CsrfClient(Client):
    """Enforces CSRF; ``confirm`` submits the form of a confirm page the way a browser would."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def confirm(self, url: str, **kwargs):
        page = self.get(url)
        assert page.status_code == 200, page.content[:500]
        return self.post(url, {"csrfmiddlewaretoken": self.cookies["csrftoken"].value}, **kwargs)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        for page in ("/preferences/", "/accounts/login/"):  # any page with a form sets the cookie
            if "csrftoken" not in self.cookies:
                self.get(page)
        return self.post(url, {**(data or {}), "csrfmiddlewaretoken": self.cookies["csrftoken"].value}, **kwargs)


@dataclass
class SentDigest:
    subscription: Subscription
    delivery: Delivery
    paper: Paper


def sent_digest_make(*, subscription: Subscription, paper: Paper, slot=None, terms=("diffusion",)) -> Delivery:
    now = timezone.now()
    return Delivery.objects.create(
        subscription=subscription,
        slot=slot or now.date(),
        kind=Delivery.Kind.DIGEST,
        state=Delivery.State.SENT,
        to_email=subscription.user.email,
        sent_at=now,
        content=[
            {
                "paper": paper.id,
                "score": 1.0,
                "reasons": [{"interest": "diffusion", "terms": list(terms)}],
                "title_spans": [],
                "snippet": "",
                "snippet_spans": [],
                "suggested": False,
            }
        ],
        paper_count=1,
    )


@pytest.fixture
def ada_digest(db) -> SentDigest:
    sub = factories.ada()
    paper = factories.paper_make(
        title="Video diffusion models at scale",
        abstract="We train diffusion models for video generation.",
        authors=["Jan Müller", "Ada Lovelace"],
    )
    return SentDigest(sub, sent_digest_make(subscription=sub, paper=paper), paper)


@pytest.fixture
def bo_digest(db) -> SentDigest:
    sub = factories.bo()
    paper = factories.paper_make(title="Chain-of-thought reasoning in LLMs", abstract="Reasoning with LLMs.")
    return SentDigest(sub, sent_digest_make(subscription=sub, paper=paper, terms=("reasoning",)), paper)


@pytest.fixture
def anon() -> CsrfClient:
    return CsrfClient()


@pytest.fixture
def corpus_rows() -> list[dict]:
    return [json.loads(line) for line in shared_file(CORPUS_PATH).read_text().splitlines() if line.strip()]


@pytest.fixture
def an_hour_ago():
    return timezone.now() - timedelta(hours=1)
