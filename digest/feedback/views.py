"""Feedback links from the email, the private feed, and the two preference forms (feed secret, follow author).

Mail scanners and link previewers open every link in an email, so a feedback GET only shows a
one-button confirm page; only the POST it submits records anything.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.tokens import InvalidToken
from digest.feedback import services
from digest.feedback.atom import CONTENT_TYPE, atom_render
from digest.feedback.links import feedback_token_read
from digest.feedback.selectors import feed_for_subscription, feed_subscription_from_token
from digest.services.subscriptions import subscription_create_for_user


def _invalid(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "feedback/invalid.html", {"message": message}, status=400)


@require_http_methods(["GET", "POST"])
def act(request: HttpRequest, token: str) -> HttpResponse:
    try:
        action = feedback_token_read(token=token)
        _, paper = services.feedback_target_check(action=action)
    except (InvalidToken, services.FeedbackLinkInvalid):
        return _invalid(request)
    # Nothing submits this page for the reader: mail gateways open links in headless browsers that run
    # scripts, so only a real click on the POST form records anything (security review M4).
    context = {"action": action, "paper": paper, "token": token}
    if request.method == "GET":
        return render(request, "feedback/confirm.html", context)
    try:
        outcome = services.feedback_record(action=action)
    except services.FeedbackLinkInvalid:
        return _invalid(request)
    except services.FeedbackError as exc:
        return _invalid(request, str(exc))
    return render(request, "feedback/done.html", {**context, "outcome": outcome})


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    subscription = feed_subscription_from_token(token=token)
    if subscription is None:
        # The same answer for a forged, revoked or unknown URL: nothing to learn from probing.
        raise Http404("No such feed.")
    body = atom_render(feed_for_subscription(subscription=subscription, self_url=request.build_absolute_uri()))
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_POST
def feed_regenerate(request: HttpRequest) -> HttpResponse:
    subscription = subscription_create_for_user(user=request.user)
    services.feed_token_regenerate(subscription=subscription)
    messages.success(request, "Your feed has a new address. The old one no longer works; update your feed reader.")
    return redirect("digest:preferences")


@login_required
@require_POST
def author_follow(request: HttpRequest) -> HttpResponse:
    subscription = subscription_create_for_user(user=request.user)
    try:
        name = services.author_follow(
            subscription=subscription,
            name=request.POST.get("name", ""),
            initials=request.POST.get("initials") == "on",
        )
    except services.FeedbackError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"You now follow {name}.")
    return redirect("digest:preferences")
