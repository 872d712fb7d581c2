"""What subscribers taught their digest (read-only; subscriber data, so superusers only)."""

from __future__ import annotations

from django.contrib import admin

from digest.admin.base import BigTableAdmin, ReadOnlyMixin
from digest.models import Feedback, RankerModel


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyMixin, BigTableAdmin):
    list_display = ("created_at", "subscription", "kind", "word", "paper")
    list_filter = ("kind",)
    list_select_related = ("subscription__user", "paper")
    raw_id_fields = ("subscription", "paper", "delivery")
    search_fields = ("=subscription__user__email",)


@admin.register(RankerModel)
class RankerModelAdmin(ReadOnlyMixin, BigTableAdmin):
    list_display = ("subscription", "trained_at", "n_likes", "n_dislikes")
    list_select_related = ("subscription__user",)
    raw_id_fields = ("subscription",)
    exclude = ("params",)
