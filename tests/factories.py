"""Factories for the people and papers the tests talk about.

Personas: Ada studies diffusion models, Bo follows language-model reasoning, Cy works on robotics
and has not verified their address yet.
"""

from __future__ import annotations

import itertools
from datetime import datetime

from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from digest.models import Interest, Paper, Subscription

_seq = itertools.count(1)


def user_make(*, email: str, verified: bool = True, password: str = "correct horse battery staple") -> User:
    user = User.objects.create_user(email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def subscriber_make(
    *,
    email: str,
    interests: list[str],
    verified: bool = True,
    muted: list[str] | None = None,
    max_papers: int = 10,
    send_hour: int = 7,
    tz: str = "UTC",
    **fields,
) -> Subscription:
    user = user_make(email=email, verified=verified)
    sub = Subscription.objects.create(
        user=user, muted_words=muted or [], max_papers=max_papers, send_hour=send_hour, timezone=tz, **fields
    )
    for position, query in enumerate(interests):
        Interest.objects.create(subscription=sub, query=query, position=position)
    return sub


def ada() -> Subscription:
    return subscriber_make(email="ada@example.org", interests=["diffusion", '"video generation"'])


def bo() -> Subscription:
    return subscriber_make(email="bo@example.org", interests=["reasoning", "LLM"])


def cy_unverified() -> Subscription:
    return subscriber_make(email="cy@example.org", interests=["robot"], verified=False)


def paper_make(
    *,
    title: str,
    abstract: str = "An abstract about nothing in particular.",
    external_id: str | None = None,
    authors: list[str] | None = None,
    categories: list[str] | None = None,
    ingested_at: datetime | None = None,
    **fields,
) -> Paper:
    n = next(_seq)
    return Paper.objects.create(
        external_id=external_id or f"test:{n}",
        title_key=f"{title.lower()[:200]}#{n}",
        title=title,
        abstract=abstract,
        authors=authors if authors is not None else ["A. Author"],
        categories=categories if categories is not None else ["cs.LG"],
        url=f"https://arxiv.org/abs/2401.{n:05d}",
        pdf_url=f"https://arxiv.org/pdf/2401.{n:05d}",
        ingested_at=ingested_at or timezone.now(),
        **fields,
    )
