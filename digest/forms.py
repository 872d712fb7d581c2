"""Forms of the subscriber pages: they turn the services' rules into inline error messages."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from digest.matching import QueryError
from digest.models import Feed, Subscription
from digest.services import subscriptions as subscription_services
from digest.services.subscriptions import MAX_PAPERS_RANGE, QUERY_MAX_CHARS, SubscriptionError
from digest.services.trending import TRENDING_CATEGORIES, TRENDING_SECTION_MAX

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
HOURS = [(h, f"{h:02d}:00") for h in range(24)]
# One feature each, and every one matches papers of the demo sample (tests/digest/test_demo_examples.py),
# so the first chip a newcomer clicks never shows "0 papers".
EXAMPLE_QUERIES = (
    "diffusion video -medical",
    '"graph neural network" OR GNN',
    "title:reasoning LLM -survey",
    "category:cs.RO manipulation",
    'author:"Elena Petrova"',
)


_SELECTED = format_html("{}", " selected")


class LongSelect(forms.Select):
    """A select for long lists (600 time zones): options are built in Python, not one template each,
    which costs milliseconds instead of a large share of the page's render time. Values are escaped."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        final = self.build_attrs(self.attrs, attrs)
        options = format_html_join(
            "",
            "{}",
            (
                (
                    format_html(
                        '<option value="{}"{}>{}</option>', key, _SELECTED if str(key) == str(value) else "", label
                    ),
                )
                for key, label in self.choices
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


@cache
def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class InterestForm(forms.Form):
    query = forms.CharField(
        label="Query",
        # The browser stops typing a little past the limit so an overlong paste still gets a clear message.
        max_length=QUERY_MAX_CHARS + 200,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "e.g. diffusion video -medical"}
        ),
        error_messages={"required": "Write a query, for example: diffusion video"},
    )
    # Filled by the browser's JavaScript during onboarding; ignored when unknown.
    timezone = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput(attrs={"id": "browser-timezone", "data-browser-timezone": ""}),
    )

    def clean_query(self) -> str:
        try:
            return subscription_services.query_clean(query=self.cleaned_data["query"])
        except (QueryError, SubscriptionError) as err:
            raise forms.ValidationError(str(err)) from err


def muted_words_split(text: str) -> list[str]:
    return [part for part in re.split(r"[,\n]", text) if part.strip()]


class SettingsForm(forms.Form):
    frequency = forms.ChoiceField(label="How often", choices=Subscription.Frequency.choices, widget=forms.RadioSelect)
    weekday = forms.TypedChoiceField(label="Weekday (weekly digests)", choices=WEEKDAYS, coerce=int)
    send_hour = forms.TypedChoiceField(label="Send at", choices=HOURS, coerce=int)
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices, widget=LongSelect)
    max_papers = forms.IntegerField(
        label="Papers per email", min_value=MAX_PAPERS_RANGE[0], max_value=MAX_PAPERS_RANGE[1]
    )
    muted_words = forms.CharField(
        label="Muted words",
        required=False,
        max_length=6000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "one per line, or separated by commas"}),
        help_text="A paper that mentions any of these is left out, whatever else it matched.",
    )
    quiet_day_note = forms.BooleanField(
        label="On days nothing matches, send a short note with the nearest misses",
        required=False,
    )

    def clean_muted_words(self) -> list[str]:
        try:
            return list(
                subscription_services.muted_words_clean(words=muted_words_split(self.cleaned_data["muted_words"]))
            )
        except (QueryError, SubscriptionError) as err:
            raise forms.ValidationError(str(err)) from err

    def settings_value(self) -> subscription_services.DeliverySettings:
        data = self.cleaned_data
        return subscription_services.DeliverySettings(
            muted_words=tuple(data["muted_words"]),
            max_papers=data["max_papers"],
            frequency=data["frequency"],
            weekday=data["weekday"],
            send_hour=data["send_hour"],
            timezone=data["timezone"],
            quiet_day_note=data["quiet_day_note"],
        )

    @classmethod
    def for_subscription(cls, subscription: Subscription) -> SettingsForm:
        return cls(
            initial={
                "frequency": subscription.frequency,
                "weekday": subscription.weekday,
                "send_hour": subscription.send_hour,
                "timezone": subscription.timezone,
                "max_papers": subscription.max_papers,
                "muted_words": "\n".join(subscription.muted_words or []),
                "quiet_day_note": subscription.quiet_day_note,
            }
        )


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


class TrendingForm(forms.Form):
    """Trending papers without a query (issue 19): tick boxes and one select, nothing to type."""

    digest = forms.ChoiceField(label="What to send", choices=Subscription.Digest.choices, widget=forms.RadioSelect)
    categories = forms.MultipleChoiceField(
        label="Only these arXiv categories (none ticked: all)",
        choices=TRENDING_CATEGORIES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    section = forms.TypedChoiceField(
        label="With my matches, add a “Trending today” section of",
        choices=[(0, "no trending papers")] + [(n, f"{n} trending papers") for n in (1, 2, 3, 5, TRENDING_SECTION_MAX)],
        coerce=int,
        required=False,
        empty_value=0,
    )

    @classmethod
    def for_subscription(cls, subscription: Subscription) -> TrendingForm:
        return cls(
            initial={
                "digest": subscription.digest,
                "categories": list(subscription.trending_categories or []),
                "section": subscription.trending_section,
            }
        )
