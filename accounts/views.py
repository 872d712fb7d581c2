"""Account pages that allauth does not provide: deleting an account and all its data."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import AccountDeleteForm
from digest.services.subscriptions import account_delete as account_delete_service


@require_http_methods(["GET", "POST"])
@login_required
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        account_delete_service(user=user)
        messages.success(request, "Your account and everything in it are deleted. Thanks for reading with us.")
        return redirect("digest:landing")
    return render(request, "account/delete.html", {"form": form}, status=400 if form.errors else 200)
