"""Subscribers suggest a source (RSS/Atom, an arXiv category, Hugging Face Daily Papers) for moderators.

URL: ``feeds/suggest/`` named ``digest:feed_suggest``; the page also lists the person's own
suggestions with their state and, when rejected, the moderator's reason.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from digest.forms import FeedSuggestForm
from digest.selectors.moderation import feeds_suggested_by
from digest.services.moderation import feed_suggest


@login_required
def feed_suggest_view(request: HttpRequest) -> HttpResponse:
    form = FeedSuggestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            feed = feed_suggest(
                user=request.user,
                kind=form.cleaned_data["kind"],
                target=form.cleaned_data["target"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as err:
            _errors_to_form(form, err)
        else:
            messages.success(request, f"Thanks! “{feed.name}” is waiting for a moderator's review.")
            return redirect("digest:feed_suggest")
    mine = feeds_suggested_by(user=request.user)
    return render(request, "digest/feed_suggest.html", {"form": form, "suggestions": mine})


def _errors_to_form(form: forms.Form, err: ValidationError) -> None:
    # The service speaks field names where it can; everything else is a form-wide error.
    if hasattr(err, "error_dict"):
        for field, errors in err.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, err)
