"""The admin's feed form: web URLs only, and a log line with the old and new value of every change.

A moderator may add and edit feeds, but a feed that reads a file on the server is the operator's
tool (``digest/ingest/sources.py``): the form refuses a path, and an operator's file feed keeps its
kind and url out of the form altogether (``FILE_FEED_LOCKED``).
"""

from __future__ import annotations

import json

from django import forms
from django.utils.text import Truncator

from digest.ingest.sources import SourceRefused, source_check, source_is_file
from digest.models import Feed

# Fields an operator's file feed shows read-only in the admin.
FILE_FEED_LOCKED = ("kind", "url")
_VALUE_MAX = 120


class FeedAdminForm(forms.ModelForm):
    class Meta:
        model = Feed
        fields = ("name", "kind", "url", "categories", "params", "cadence_minutes", "next_fetch_at")

    def clean(self):
        data = super().clean()
        kind = data.get("kind", self.instance.kind if self.instance.pk else "")
        url = data.get("url", self.instance.url if self.instance.pk else "")
        if "url" in self.fields or "kind" in self.fields:
            try:
                cleaned_url = source_check(kind=kind or "", url=url or "", files_allowed=False)
            except SourceRefused as exc:
                self.add_error("url" if "url" in self.fields else None, str(exc))
            else:
                if "url" in self.fields:
                    data["url"] = cleaned_url
        return data


def feed_is_file(feed: Feed | None) -> bool:
    return feed is not None and source_is_file(kind=feed.kind, url=feed.url)


def _shown(value: object) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    text = " ".join(str("" if value is None else value).split())
    return repr(Truncator(text).chars(_VALUE_MAX))


def feed_change_message(form: forms.ModelForm) -> str:
    """``Changed url: 'https://a/x' → 'https://b/y'; kind: 'rss' → 'hf_daily'.`` (values cut at 120)."""
    parts = []
    for name in form.changed_data:
        before = form.initial.get(name)
        after = form.cleaned_data.get(name)
        label = str(form.fields[name].label or name) if name in form.fields else name
        parts.append(f"{label}: {_shown(before)} → {_shown(after)}")
    return f"Changed {'; '.join(parts)}." if parts else "No fields changed."
