"""Trending papers on the preferences page (issue 19): choose them without a query, see today's list."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from digest.forms import TrendingForm
from digest.models import Subscription
from digest.selectors.trending import trending_preview_for
from digest.services.subscriptions import SubscriptionError
from digest.services.trending import subscription_trending_set, trending_categories_clean
from digest.views.preferences import preferences_render, subscription_of
from digest.views.preview import preview_throttle, throttled_render


@require_POST
@login_required
def trending_update(request: HttpRequest) -> HttpResponse:
    subscription = subscription_of(request)
    form = TrendingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            subscription_trending_set(
                subscription=subscription,
                digest=data["digest"],
                categories=data["categories"],
                section=data["section"] or 0,
            )
        except SubscriptionError as err:
            form.add_error(None, str(err))
        else:
            if subscription.digest == Subscription.Digest.TRENDING:
                messages.success(
                    request,
                    f"Subscribed to trending papers: the {subscription.max_papers} most upvoted papers of each day.",
                )
            else:
                messages.success(request, "Trending settings saved.")
            return redirect(f"{reverse('digest:preferences')}#trending")
    return preferences_render(request, subscription, trending_form=form, status=400)


@require_GET
@login_required
def trending_preview(request: HttpRequest) -> HttpResponse:
    """The trending list for the ticked categories (a fragment for the page's script). Throttled per user
    like the live preview (each tick asks again): see ``digest/throttle.py``."""
    with preview_throttle(request, scope="trending-preview") as throttled:
        if throttled is not None:
            return throttled_render(request, throttled)
        return _trending_preview(request)


def _trending_preview(request: HttpRequest) -> HttpResponse:
    subscription = subscription_of(request)
    try:
        categories = trending_categories_clean(categories=request.GET.getlist("categories"))
    except SubscriptionError:
        categories = []
    response = render(
        request,
        "digest/_trending_preview.html",
        {
            "subscription": subscription,
            "trending_cards": trending_preview_for(subscription=subscription, categories=categories),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
