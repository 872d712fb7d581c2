"""Live preview of a query over the last 7 days: a fragment for the page's script, a full page without JS."""

from __future__ import annotations

from contextlib import AbstractContextManager

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from digest.forms import InterestForm
from digest.library.selectors import library_docs_of
from digest.selectors import subscriptions as subscription_selectors
from digest.selectors.preview import PreviewResult, preview_digest, preview_query
from digest.services.subscriptions import QUERY_MAX_CHARS
from digest.throttle import Throttled, throttle_hold
from digest.views.preferences import subscription_of


def _interest_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@require_http_methods(["GET", "POST"])
@login_required
def preview(request: HttpRequest) -> HttpResponse:
    """GET ``?q=…[&interest=<id>][&fragment=1]`` from the script; POST from the "Preview" button (no JS).

    Throttled per user (a rate, and one preview at a time): see ``digest/throttle.py``."""
    with preview_throttle(request, scope="preview") as throttled:
        if throttled is not None:
            data = request.POST if request.method == "POST" else request.GET
            fragment = data.get("fragment") == "1"
            return throttled_render(request, throttled, fragment=fragment)
        return _preview(request)


def preview_throttle(request: HttpRequest, *, scope: str) -> AbstractContextManager[Throttled | None]:
    """The per-user throttle of a preview endpoint (``PAPERBOY_PREVIEW_RATE`` per
    ``PAPERBOY_PREVIEW_RATE_WINDOW`` seconds, one at a time), counted apart for each ``scope``."""
    return throttle_hold(
        scope=scope,
        key=str(request.user.pk),
        rate=settings.PAPERBOY_PREVIEW_RATE,
        window_seconds=settings.PAPERBOY_PREVIEW_RATE_WINDOW,
    )


def throttled_render(request: HttpRequest, throttled: Throttled, *, fragment: bool = True) -> HttpResponse:
    """A preview turned away by the per-user throttle: 429 with ``Retry-After``, as the panel's fragment
    (for the page's script) or a whole page (without script)."""
    template = "digest/_preview_throttled.html" if fragment else "digest/preview_throttled.html"
    response = render(request, template, {"throttled": throttled}, status=429)
    response["Retry-After"] = str(throttled.retry_after)
    return response


def _preview(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    interest_id = _interest_id(data.get("interest"))
    query = data.get("q") or data.get("query") or (interest_id and data.get(f"i{interest_id}-query")) or ""
    subscription = subscription_of(request)
    interests = subscription_selectors.interests_of(subscription=subscription)
    if interest_id is not None and not any(i.id == interest_id for i in interests):
        interest_id = None  # someone else's id: preview as a new interest, reveal nothing

    result: PreviewResult | None
    if not query.strip():
        result = None
    elif len(query) > QUERY_MAX_CHARS:
        result = PreviewResult(
            error=f"A query can be at most {QUERY_MAX_CHARS} characters (this one has {len(query)})."
        )
    else:
        result = preview_query(query=query, muted=subscription.muted_words or [])
    combined_queries = [query if i.id == interest_id else i.query for i in interests]
    if interest_id is None and result is not None and not result.error:
        combined_queries.append(query)
    library, own = library_docs_of(subscription_id=subscription.id)
    combined = preview_digest(
        interests=combined_queries,
        muted=subscription.muted_words or [],
        max_papers=subscription.max_papers,
        already_sent=subscription_selectors.paper_ids_sent_to(subscription_id=subscription.id),
        library=library,
        own=own,
    )
    context = {
        "query": query,
        "result": result,
        "digest_preview": combined,
        "subscription": subscription,
        "editing": next((i for i in interests if i.id == interest_id), None),
    }
    if data.get("fragment") == "1":
        response = render(request, "digest/_preview_panel.html", context)
        response["Cache-Control"] = "private, no-store"
        return response
    form_prefix = f"i{interest_id}" if interest_id else None
    context["form"] = InterestForm(initial={"query": query}, prefix=form_prefix)
    return render(request, "digest/preview.html", context)
