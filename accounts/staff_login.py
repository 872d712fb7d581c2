"""The admin has no password form of its own: staff sign in through the site's login (security M6).

Django's ``/admin/login/`` checks passwords without any rate limit, so 30 guesses at the superuser's
password in 24 s were all tried. Every password now goes through allauth's login, with its limits
(``accounts/adapter.py``); the admin's login URL sends visitors there and back.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

_admin_login = admin.site.login


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    if request.method == "POST" or not request.user.is_authenticated:
        target = request.GET.get("next") or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
    # Signed in: staff go on to the admin; anyone else sees the admin's "not authorised" page.
    return _admin_login(request, extra_context)


def admin_login_install() -> None:
    admin.site.login = admin_login  # type: ignore[method-assign]
