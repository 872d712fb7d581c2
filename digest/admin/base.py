"""What every admin page here shares: capped counts, per-page annotations, read-only rows, object
buttons and the intermediate form for actions that ask for a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, cast

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.text import Truncator

from accounts.models import User


def can_see_subscribers(request: HttpRequest) -> bool:
    """Subscriber addresses are personal data: only roles allowed to view users see them."""
    return request.user.has_perm("accounts.view_user")


def acting_user(request: HttpRequest) -> User:
    """The staff member doing an action (the admin serves logged-in staff only)."""
    user = request.user
    assert isinstance(user, User), "the admin site only lets staff users in"
    return user


def short_text(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters, for a list column."""
    return Truncator(" ".join((text or "").split())).chars(limit)


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: an exact COUNT(*) over a million filtered rows is the slowest
    part of a big admin list, and nobody pages past row 10,000 (filters and search narrow instead).
    The list then says "more than 10000 papers"."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        rows = cast(QuerySet, self.object_list)  # admin lists always page a queryset
        return rows.order_by()[: self.CAP].count()

    @property
    def capped(self) -> bool:
        return self.count >= self.CAP


class PageAnnotatingChangeList(ChangeList):
    """Lets the admin add per-row numbers to the shown page with one grouped query each."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        cast(PageAnnotateMixin, self.model_admin).page_annotate(self.result_list)


class PageAnnotateMixin(admin.ModelAdmin):
    """An admin whose list rows get extra numbers from ``page_annotate``."""

    def get_changelist(self, request, **kwargs):
        return PageAnnotatingChangeList

    def page_annotate(self, rows: list) -> None:
        """Set extra attributes on the rows of the page being shown."""


class ReadOnlyMixin:
    """Rows written by the system (fetch runs, logs, slots, learned models): shown, never edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BigTableAdmin(admin.ModelAdmin):
    paginator = CappedCountPaginator
    show_full_result_count = False
    # "Show counts" would COUNT every filter option over the whole table.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50


def action_with_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[forms.Form],
    title: str,
    intro: str,
    apply: Callable[[dict], None],
):
    """Show ``form_class`` for the selected rows; on a valid submit run ``apply`` and go back to the list."""
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            apply(form.cleaned_data)
            return None
    else:
        form = form_class()
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "queryset": queryset[:50],
        "total": len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action": request.POST.get("action", ""),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/paperboy/action_form.html", context)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), max_length=2000)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, widget=forms.TextInput(attrs={"size": 60}))


class ObjectActionsMixin(admin.ModelAdmin):
    """Shows some list actions as buttons on the object's own page (they post to the change list)."""

    change_form_template: ClassVar[str | None] = "admin/paperboy/change_form_actions.html"
    # (action name, button label, asks for input first)
    object_actions: tuple[tuple[str, str, bool], ...] = ()

    def object_action_applies(self, obj, name: str) -> bool:
        return True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        allowed = self.get_actions(request)
        obj = self.get_object(request, unquote(object_id))
        buttons = [a for a in self.object_actions if a[0] in allowed and obj and self.object_action_applies(obj, a[0])]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "object_actions": buttons})
