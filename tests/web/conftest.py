"""Fixtures for the subscriber pages: a CSRF-enforcing client, signed-in personas, recent papers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from digest.selectors.preview import preview_cache_clear
from tests import factories


class CsrfClient(Client):
    """A test client that enforces CSRF like a browser does, and posts forms with the page's token."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def csrf_token(self) -> str:
        if "csrftoken" not in self.cookies:
            # Any page with a form sets the cookie; the preferences page has many (the login page for anonymous).
            response = self.get("/preferences/")
            if "csrftoken" not in self.cookies or response.status_code != 200:
                self.get("/accounts/login/")
        return self.cookies["csrftoken"].value

    def post_form(self, path: str, data: dict | None = None, **kwargs):
        return self.post(path, {**(data or {}), "csrfmiddlewaretoken": self.csrf_token()}, **kwargs)


@pytest.fixture(autouse=True)
def _fresh_preview_index(monkeypatch):
    # The preview index is cached per process; tests roll back papers, so start every test clean, and
    # rebuild in the test's own thread (a background thread's connection can't see uncommitted rows).
    monkeypatch.setattr("digest.selectors.preview.REBUILD_IN_BACKGROUND", False)
    preview_cache_clear()
    yield
    preview_cache_clear()


@pytest.fixture
def anon() -> CsrfClient:
    return CsrfClient()


@pytest.fixture
def ada_sub(db):
    return factories.ada()


@pytest.fixture
def bo_sub(db):
    return factories.bo()


@pytest.fixture
def ada_client(ada_sub) -> CsrfClient:
    client = CsrfClient()
    client.force_login(ada_sub.user)
    return client


@pytest.fixture
def bo_client(bo_sub) -> CsrfClient:
    client = CsrfClient()
    client.force_login(bo_sub.user)
    return client


@pytest.fixture
def recent_papers(db):
    """A small week of papers: two about diffusion video, one about LLM reasoning, one old, one hidden."""
    now = timezone.now()
    return {
        "video": factories.paper_make(
            title="Sparse Diffusion Models for Long Video Generation",
            abstract="We scale diffusion models to minute-long video generation with sparse attention.",
            ingested_at=now - timedelta(days=1),
        ),
        "medical": factories.paper_make(
            title="Diffusion Priors for Medical Image Reconstruction",
            abstract="A diffusion prior improves medical MRI reconstruction from few measurements.",
            ingested_at=now - timedelta(days=2),
        ),
        "reasoning": factories.paper_make(
            title="Reasoning Traces Make Better Teachers",
            abstract="Distilling the reasoning traces of a large LLM teaches a small one arithmetic.",
            ingested_at=now - timedelta(hours=3),
        ),
        "old": factories.paper_make(
            title="An Old Diffusion Paper",
            abstract="Diffusion from a long time ago.",
            ingested_at=now - timedelta(days=30),
        ),
        "hidden": factories.paper_make(
            title="Hidden Diffusion Spam",
            abstract="Diffusion spam that a moderator hid.",
            ingested_at=now - timedelta(hours=1),
            hidden=True,
        ),
    }
