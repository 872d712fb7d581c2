"""Past digests: the signed-in subscriber's list, and one digest exactly as emailed (by login or signed link)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.tokens import InvalidToken, token_read
from digest.models import Delivery
from digest.selectors import subscriptions as subscription_selectors
from digest.views.preferences import subscription_of

# The email HTML holds feed text and outbound links: no scripts, no forms, no referrer carrying the token.
_DIGEST_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def _digest_response(delivery: Delivery) -> HttpResponse:
    from digest.content import digest_email_from_delivery
    from digest.email import digest_html_render

    html = digest_html_render(digest_email_from_delivery(delivery), for_browser=True)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = _DIGEST_CSP
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@login_required
def archive(request: HttpRequest) -> HttpResponse:
    subscription = subscription_of(request)
    page = Paginator(subscription_selectors.deliveries_archived(subscription_id=subscription.id), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "digest/archive.html", {"page": page, "subscription": subscription})


@require_GET
@login_required
def archive_digest(request: HttpRequest, delivery_id: int) -> HttpResponse:
    subscription = subscription_of(request)
    try:
        delivery = subscription_selectors.delivery_archived(subscription_id=subscription.id, delivery_id=delivery_id)
    except Delivery.DoesNotExist as exc:
        # 404, not 403: whether someone else's digest exists is nobody's business.
        raise Http404("No such digest") from exc
    return _digest_response(delivery)


@require_GET
def digest_view(request: HttpRequest, token: str) -> HttpResponse:
    """The email's "view in browser" link: the signed token is the permission, no login needed."""
    try:
        subscription_id, data = token_read(purpose="archive", token=token)
        delivery_id = int(data["d"])
        delivery = subscription_selectors.delivery_archived(subscription_id=subscription_id, delivery_id=delivery_id)
    except (InvalidToken, KeyError, TypeError, ValueError, Delivery.DoesNotExist) as exc:
        raise Http404("This link is not valid") from exc
    return _digest_response(delivery)
