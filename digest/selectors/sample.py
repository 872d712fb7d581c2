"""A made-up digest for the landing page, rendered by the real email templates.

The papers are invented (no real titles or abstracts), so the sample never goes stale or quotes anyone.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from django.conf import settings
from django.urls import reverse

_SAMPLE_PAPERS = (
    {
        "title": "Sparse Diffusion Models for Long Video Generation",
        "authors": ("A. Lovelace", "C. Babbage", "M. Somerville"),
        "categories": ("cs.CV", "cs.LG"),
        "popularity": 42,
        "snippet": "We train diffusion models that attend to a sparse set of key frames, which lets video "
        "generation run for minutes instead of seconds while keeping motion coherent.",
        "terms": ("diffusion", "video generation"),
        "interest": '"video generation" diffusion',
    },
    {
        "title": "When Does Grokking Happen? A Study of Delayed Generalization in Small Transformers",
        "authors": ("E. Noether", "S. Kovalevskaya"),
        "categories": ("cs.LG",),
        "popularity": None,
        "snippet": "Delayed generalization appears only above a critical weight decay; below it, small "
        "transformers memorise the training set and never recover.",
        "terms": ("grokking", "delayed generalization"),
        "interest": 'grokking OR "delayed generalization"',
    },
    {
        "title": "Reasoning Traces Make Language Models Better Teachers",
        "authors": ("G. Hopper", "K. Johnson", "D. Vaughan", "M. Jackson", "A. Turing"),
        "categories": ("cs.CL", "cs.AI"),
        "popularity": 17,
        "snippet": "Distilling from a teacher's reasoning traces, rather than its final answers, lets a "
        "student LLM match the teacher on maths word problems with a tenth of the data.",
        "terms": ("reasoning", "LLM"),
        "interest": "reasoning LLM",
    },
)


def _spans(text: str, terms: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    found = []
    for term in terms:
        found += [m.span() for m in re.finditer(rf"\b{re.escape(term)}\w*", text, flags=re.IGNORECASE)]
    return tuple(sorted(found))


def sample_digest_email():
    from digest.email import DigestEmail, DigestItem, DigestLinks

    items = tuple(
        DigestItem(
            paper_key=n,
            title=p["title"],
            url="https://arxiv.org/",
            pdf_url="https://arxiv.org/",
            hf_url="",
            authors=p["authors"],
            categories=p["categories"],
            popularity=p["popularity"],
            snippet=p["snippet"],
            title_spans=_spans(p["title"], p["terms"]),
            snippet_spans=_spans(p["snippet"], p["terms"]),
            matched_terms=p["terms"],
            interests=(p["interest"],),
            suggested=False,
        )
        for n, p in enumerate(_SAMPLE_PAPERS, start=1)
    )
    signup = f"{settings.SITE_URL}{reverse('account_signup')}"
    return DigestEmail(
        recipient="you@example.org",
        digest_date=date.today(),
        items=items,
        interests=tuple(p["interest"] for p in _SAMPLE_PAPERS),
        links=DigestLinks(unsubscribe_url=signup, manage_url=signup, view_url=signup),
        message_id="<sample@paperboy.invalid>",
        frequency="daily",
    )


@lru_cache(maxsize=1)
def _rendered(day: date) -> str:
    from digest.email import digest_html_render

    return digest_html_render(sample_digest_email(), for_browser=True)


def sample_digest_html() -> str:
    """The sample as a full HTML document (premailer is slow, so it is rendered once a day per process)."""
    return _rendered(date.today())
