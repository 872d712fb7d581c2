"""The landing page: what Paperboy does, with a sample digest rendered by the real email templates."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from digest.selectors.sample import sample_digest_html


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "digest/landing.html", {"sample_digest_html": sample_digest_html()})
