"""The moderation log (Django's ``LogEntry``): moderators see entries about what they may moderate."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from accounts.models import User
from digest.admin.base import BigTableAdmin, ReadOnlyMixin, can_see_subscribers

# Moderators see the history of what they may moderate; entries about subscribers name addresses.
_MODERATOR_LOG_MODELS = (("digest", "feed"), ("digest", "paper"), ("digest", "feedrun"))


class StaffUserFilter(admin.SimpleListFilter):
    """Who did it: lists staff only (a plain user filter would list every subscriber)."""

    title = "by"
    parameter_name = "by"

    def lookups(self, request, model_admin):
        return [(u.pk, u.email) for u in User.objects.filter(is_staff=True).order_by("email")[:200]]

    def queryset(self, request, queryset):
        return queryset.filter(user_id=self.value()) if self.value() else queryset


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyMixin, BigTableAdmin):
    list_display = ("action_time", "user", "action", "content_type", "object_link", "change_message_text")
    list_filter = ("action_flag", StaffUserFilter, "content_type")
    search_fields = ("object_repr", "change_message")
    list_select_related = ("user", "content_type")
    ordering = ("-action_time",)
    date_hierarchy = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not can_see_subscribers(request):
            allowed = Q()
            for app_label, model in _MODERATOR_LOG_MODELS:
                allowed |= Q(content_type__app_label=app_label, content_type__model=model)
            queryset = queryset.filter(allowed)
        return queryset

    def get_list_filter(self, request):
        # The content-type filter would list every model; moderators only ever see three.
        return ("action_flag", StaffUserFilter) if not can_see_subscribers(request) else self.list_filter

    @admin.display(description="action", ordering="action_flag")
    def action(self, entry: LogEntry) -> str:
        return entry.get_action_flag_display()

    @admin.display(description="object")
    def object_link(self, entry: LogEntry) -> str:
        url = None
        content_type = entry.content_type if entry.content_type_id else None
        if content_type is not None and entry.object_id and entry.action_flag != DELETION:
            try:
                url = reverse(f"admin:{content_type.app_label}_{content_type.model}_change", args=[entry.object_id])
            except NoReverseMatch:
                url = None
        return format_html('<a href="{}">{}</a>', url, entry.object_repr) if url else entry.object_repr

    @admin.display(description="what")
    def change_message_text(self, entry: LogEntry) -> str:
        return entry.get_change_message()
