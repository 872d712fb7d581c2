"""The runs dashboard: per-slot outcomes, failures, retry a slot, pause and resume sending."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date

from digest.admin.base import ReadOnlyMixin, acting_user
from digest.models import DeliveryRun, SendingControl
from digest.selectors.runs import OUTCOMES, slot_failures, slot_stats_recent
from digest.services import moderation


class PauseForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


@admin.register(DeliveryRun)
class DeliveryRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The "Delivery runs" entry of the admin opens the runs dashboard."""

    list_display = ("slot", "started_at", "finished_at", "papers", "planned", "trending")

    def has_module_permission(self, request):
        return request.user.has_perm("digest.view_delivery")

    def has_view_permission(self, request, obj=None):
        # The dashboard lists addresses and SMTP replies: only for roles allowed to see deliveries.
        return request.user.has_perm("digest.view_delivery") and super().has_view_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._dashboard_post(request)
        days = _int_param(request.GET.get("days"), default=7, low=1, high=60)
        stats = slot_stats_recent(today=timezone.localdate(), days=days)
        selected = parse_date(request.GET.get("slot") or "") if request.GET.get("slot") else None
        if selected is None and stats:
            selected = stats[0].slot
        context = {
            **self.admin_site.each_context(request),
            "title": "Runs dashboard",
            "opts": self.model._meta,
            "stats": stats,
            "outcomes": OUTCOMES,
            "days": days,
            "selected": selected,
            "failures": list(slot_failures(slot=selected)) if selected else [],
            "control": SendingControl.get(),
            "pause_form": PauseForm(),
            "can_pause": request.user.has_perm("digest.change_sendingcontrol"),
            "can_retry": request.user.has_perm("digest.change_delivery"),
            "deliveries_url": _reverse_or_empty("admin:digest_delivery_changelist"),
        }
        return TemplateResponse(request, "admin/digest/deliveryrun/dashboard.html", context)

    def _dashboard_post(self, request):
        """One operation per POST; each is one service call, allowed to one permission."""
        op = request.POST.get("op", "")
        if op not in _DASHBOARD_OPS:
            self.message_user(request, "Unknown operation.", messages.ERROR)
        else:
            permission, handler = _DASHBOARD_OPS[op]
            if not request.user.has_perm(permission):
                raise PermissionDenied
            level, text = handler(request)
            self.message_user(request, text, level)
        return HttpResponseRedirect(request.get_full_path())


def _pause(request: HttpRequest) -> tuple[int, str]:
    form = PauseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    moderation.sending_pause(by=acting_user(request), reason=reason)
    return messages.WARNING, "Sending is paused."


def _resume(request: HttpRequest) -> tuple[int, str]:
    moderation.sending_resume(by=acting_user(request))
    return messages.SUCCESS, "Sending resumed."


def _retry(request: HttpRequest) -> tuple[int, str]:
    slot = parse_date(request.POST.get("slot") or "")
    if slot is None:
        return messages.ERROR, "Choose a slot to retry."
    count = moderation.deliveries_retry_failed(by=acting_user(request), slot=slot)
    return messages.SUCCESS, f"Queued {count} failed digest(s) of {slot} again."


# op -> (the permission it needs, what it does)
_DASHBOARD_OPS: dict[str, tuple[str, Callable[[HttpRequest], tuple[int, str]]]] = {
    "pause": ("digest.change_sendingcontrol", _pause),
    "resume": ("digest.change_sendingcontrol", _resume),
    "retry": ("digest.change_delivery", _retry),
}


def _int_param(raw: str | None, *, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(raw or default), low), high)
    except ValueError:
        return default


def _reverse_or_empty(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""
