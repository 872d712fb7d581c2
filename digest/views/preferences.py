"""The interests editor and delivery preferences (login required); every write is a POST with CSRF."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from digest.feedback.services import feed_url_for
from digest.forms import EXAMPLE_QUERIES, InterestForm, SettingsForm, TrendingForm
from digest.library.selectors import archive_papers_to_pick, library_docs_of, library_entries_of
from digest.matching import QueryError, parse_query
from digest.matching.error_words import ErrorWhere, error_where
from digest.models import Delivery, Interest, Subscription
from digest.selectors import subscriptions as subscription_selectors
from digest.selectors.preview import preview_digest
from digest.selectors.trending import trending_preview_for
from digest.services import subscriptions as subscription_services
from digest.services.subscriptions import SubscriptionError


def subscription_of(request: HttpRequest) -> Subscription:
    return subscription_selectors.subscription_for_user(
        user=request.user
    ) or subscription_services.subscription_create_for_user(user=request.user)


def _interest_or_404(subscription: Subscription, interest_id: int) -> Interest:
    try:
        return subscription_selectors.interest_of_subscription(subscription=subscription, interest_id=interest_id)
    except Interest.DoesNotExist as exc:
        raise Http404("No such interest") from exc


def query_error_where(form: InterestForm | None) -> ErrorWhere | None:
    """Where a refused query went wrong, to mark it under the box (the error text says what)."""
    if form is None or not form.is_bound or "query" not in form.errors:
        return None
    try:
        parse_query(form.data.get(form.add_prefix("query"), ""))
    except QueryError as err:
        return error_where(err)
    return None


def preferences_render(
    request: HttpRequest,
    subscription: Subscription,
    *,
    add_form: InterestForm | None = None,
    edit_forms: dict[int, InterestForm] | None = None,
    settings_form: SettingsForm | None = None,
    trending_form: TrendingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    interests = subscription_selectors.interests_of(subscription=subscription)
    edit_forms = edit_forms or {}
    rows = [
        (
            interest,
            edit_forms.get(interest.id) or InterestForm(initial={"query": interest.query}, prefix=f"i{interest.id}"),
        )
        for interest in interests
    ]
    library, own = library_docs_of(subscription_id=subscription.id)
    digest = preview_digest(
        interests=[interest.query for interest in interests],
        muted=subscription.muted_words or [],
        max_papers=subscription.max_papers,
        already_sent=subscription_selectors.paper_ids_sent_to(subscription_id=subscription.id),
        library=library,
        own=own,
    )
    context = {
        "subscription": subscription,
        "interest_rows": rows,
        "add_form": add_form or InterestForm(),
        "settings_form": settings_form or SettingsForm.for_subscription(subscription),
        "digest_preview": digest,
        "onboarding": not interests and subscription.digest != Subscription.Digest.TRENDING,
        "trending_form": trending_form or TrendingForm.for_subscription(subscription),
        "trending_cards": trending_preview_for(subscription=subscription),
        "examples": EXAMPLE_QUERIES,
        "feed_url": feed_url_for(subscription=subscription),
        "add_error_where": query_error_where(add_form),
        "library_entries": library_entries_of(subscription=subscription),
        "archive_picks": archive_papers_to_pick(subscription=subscription),
    }
    return render(request, "digest/preferences.html", context, status=status)


@require_GET
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    return preferences_render(request, subscription_of(request))


@require_POST
@login_required
def interest_add(request: HttpRequest) -> HttpResponse:
    subscription = subscription_of(request)
    form = InterestForm(request.POST)
    if form.is_valid():
        onboarding = not subscription.interests.exists()
        try:
            interest = subscription_services.interest_add(subscription=subscription, query=form.cleaned_data["query"])
        except (QueryError, SubscriptionError) as err:
            form.add_error("query", str(err))
        else:
            if onboarding and form.cleaned_data.get("timezone"):
                subscription_services.subscription_timezone_set(
                    subscription=subscription, name=form.cleaned_data["timezone"]
                )
            messages.success(request, f"Added “{interest.query}”.")
            return redirect(f"{reverse('digest:preferences')}#interests")
    return preferences_render(request, subscription, add_form=form, status=400)


@require_POST
@login_required
def interest_update(request: HttpRequest, interest_id: int) -> HttpResponse:
    subscription = subscription_of(request)
    interest = _interest_or_404(subscription, interest_id)
    form = InterestForm(request.POST, prefix=f"i{interest.id}")
    if form.is_valid():
        try:
            subscription_services.interest_update(interest=interest, query=form.cleaned_data["query"])
        except (QueryError, SubscriptionError) as err:
            form.add_error("query", str(err))
        else:
            messages.success(request, f"Saved “{interest.query}”.")
            return redirect(f"{reverse('digest:preferences')}#interests")
    return preferences_render(request, subscription, edit_forms={interest.id: form}, status=400)


@require_POST
@login_required
def interest_remove(request: HttpRequest, interest_id: int) -> HttpResponse:
    subscription = subscription_of(request)
    interest = _interest_or_404(subscription, interest_id)
    query = interest.query
    subscription_services.interest_remove(interest=interest)
    messages.success(request, f"Removed “{query}”.")
    return redirect(f"{reverse('digest:preferences')}#interests")


@require_POST
@login_required
def settings_update(request: HttpRequest) -> HttpResponse:
    subscription = subscription_of(request)
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            subscription_services.subscription_update_settings(subscription=subscription, new=form.settings_value())
        except (QueryError, SubscriptionError) as err:
            form.add_error(None, str(err))
        else:
            messages.success(request, "Delivery settings saved.")
            return redirect(f"{reverse('digest:preferences')}#delivery")
    return preferences_render(request, subscription, settings_form=form, status=400)


@require_POST
@login_required
def subscription_pause(request: HttpRequest) -> HttpResponse:
    subscription_services.subscription_pause(subscription=subscription_of(request))
    messages.success(request, "Digests paused. Nothing will be sent until you resume.")
    return redirect("digest:preferences")


@require_POST
@login_required
def subscription_resume(request: HttpRequest) -> HttpResponse:
    subscription_services.subscription_resume(subscription=subscription_of(request))
    messages.success(request, "Digests resumed.")
    return redirect("digest:preferences")


@require_POST
@login_required
def subscription_resubscribe(request: HttpRequest) -> HttpResponse:
    subscription_services.subscription_resubscribe(subscription=subscription_of(request))
    messages.success(request, "Welcome back! Your digests start again with the next one.")
    return redirect("digest:preferences")


@require_POST
@login_required
def subscription_unsubscribe(request: HttpRequest) -> HttpResponse:
    subscription_services.subscription_unsubscribe(subscription_id=subscription_of(request).id)
    messages.success(request, "You are unsubscribed: no more digests. You can subscribe again here at any time.")
    return redirect("digest:preferences")


@require_POST
@login_required
def test_digest_send(request: HttpRequest) -> HttpResponse:
    subscription = subscription_of(request)
    try:
        delivery = subscription_services.subscription_send_test(subscription=subscription)
    except SubscriptionError as err:
        messages.error(request, str(err))
    else:
        if delivery.state == Delivery.State.SKIPPED:
            messages.warning(
                request, "No paper of the last 7 days matches your interests yet, so there was nothing to send."
            )
        else:
            messages.success(
                request,
                f"A test digest with {delivery.paper_count} paper{'s' if delivery.paper_count != 1 else ''} "
                f"is on its way to {delivery.to_email}.",
            )
    return redirect(f"{reverse('digest:preferences')}#test-digest")
