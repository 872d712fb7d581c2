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

from digest.models import Feed
from digest.services.moderation import feed_suggest

KIND_CHOICES = [
    (Feed.Kind.RSS.value, "An RSS or Atom feed"),
    (Feed.Kind.ARXIV.value, "An arXiv category"),
    (Feed.Kind.HF_DAILY.value, "Hugging Face Daily Papers"),
]


class FeedSuggestForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.RadioSelect, initial=Feed.Kind.RSS.value)
    target = forms.CharField(
        label="Address or category",
        max_length=1000,
        required=False,
        help_text="The feed's address (https://…), or arXiv categories such as cs.LG astro-ph.CO. "
        "Leave empty for Hugging Face Daily Papers.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    reason = forms.CharField(
        label="Why is it useful?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The moderators read this when they decide.",
    )


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
    mine = Feed.objects.filter(suggested_by=request.user).order_by("-created_at")[:20]
    return render(request, "digest/feed_suggest.html", {"form": form, "suggestions": mine})


def _errors_to_form(form: forms.Form, err: ValidationError) -> None:
    # The service speaks field names where it can; everything else is a form-wide error.
    if hasattr(err, "error_dict"):
        for field, errors in err.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, err)
