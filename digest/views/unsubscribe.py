"""Unsubscribe from an email link: GET asks, POST (the form or RFC 8058 one-click) unsubscribes, no login."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.tokens import InvalidToken, token_read
from digest.models import Subscription
from digest.selectors.subscriptions import subscription_address
from digest.services import subscriptions as subscription_services


def email_masked(email: str) -> str:
    """``ada@example.org`` → ``a…@example.org``: enough to recognise, not enough to harvest from a forwarded link."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "digest/link_invalid.html", status=400)


# The one CSRF exemption: mail providers POST ``List-Unsubscribe=One-Click`` with no session or token
# (RFC 8058). The signed token in the URL is the authorisation, and unsubscribing is the only effect.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription_id, _ = token_read(purpose="unsubscribe", token=token, address_of=subscription_address)
    except InvalidToken:
        return _invalid(request)
    if request.method == "GET":
        # Never unsubscribes by itself: link scanners and prefetchers follow GET links.
        subscription = Subscription.objects.select_related("user").filter(id=subscription_id).first()
        if subscription is None:
            return _invalid(request)
        return render(
            request,
            "digest/unsubscribe_confirm.html",
            {"subscription": subscription, "token": token, "email": email_masked(subscription.user.email)},
        )
    try:
        subscription = subscription_services.subscription_unsubscribe(subscription_id=subscription_id)
    except Subscription.DoesNotExist:
        return _invalid(request)
    return render(request, "digest/unsubscribe_done.html", {"subscription": subscription})
