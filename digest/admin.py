"""The operator's admin: feed and paper moderation, subscribers, deliveries and the runs dashboard.

Thin by design: every action calls ``digest.services.moderation`` (which also writes the
``LogEntry``); list pages are built for 100,000 subscribers and 1,000,000 papers (capped counts,
annotations instead of per-row queries, ``list_select_related``).

Roles: superusers see everything; the ``moderators`` group (``digest/services/roles.py``) sees feeds,
feed runs, papers and the moderation log, and never a subscriber's address or interests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from digest.feed_form import FILE_FEED_LOCKED, FeedAdminForm, feed_change_message, feed_is_file
from digest.models import (
    Delivery,
    DeliveryRun,
    Feed,
    Feedback,
    FeedRun,
    Interest,
    Paper,
    RankerModel,
    SendingControl,
    Subscription,
    Suppression,
)
from digest.selectors.moderation import deliveries_pending_with_paper, paper_recipients_counts, papers_recent_counts
from digest.selectors.runs import OUTCOMES, slot_failures, slot_stats_recent
from digest.services import moderation
from digest.services.moderation import ModerationError

admin.site.site_header = "Paperboy admin"
admin.site.site_title = "Paperboy admin"
admin.site.index_title = "Moderation and operations"


def flag_after() -> int:
    """A feed that failed this many fetches in a row is flagged (the same setting the ingest uses)."""
    return int(getattr(settings, "PAPERBOY_FEED_FLAG_AFTER_FAILURES", 3))


RECENT_DAYS = 7


def can_see_subscribers(request: HttpRequest) -> bool:
    """Subscriber addresses are personal data: only roles allowed to view users see them."""
    return request.user.has_perm("accounts.view_user")


def _short(text: str, limit: int = 80) -> str:
    return Truncator(" ".join((text or "").split())).chars(limit)


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: an exact COUNT(*) over a million filtered rows is the slowest
    part of a big admin list, and nobody pages past row 10,000 (filters and search narrow instead).
    The list then says "more than 10000 papers"."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.CAP].count()

    @property
    def capped(self) -> bool:
        return self.count >= self.CAP


class PageAnnotatingChangeList(ChangeList):
    """Lets the admin add per-row numbers to the shown page with one grouped query each."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        self.model_admin.page_annotate(self.result_list)


class PageAnnotateMixin:
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


# --- Intermediate forms for actions that need input --------------------------------------------


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


class DuplicateOfForm(forms.Form):
    canonical = forms.CharField(
        label="Keep this paper",
        help_text="The id of the paper to keep (the number in its admin URL), or its external id / arXiv id.",
    )

    def clean_canonical(self) -> Paper:
        value = self.cleaned_data["canonical"].strip()
        lookup = Q(external_id=value) | Q(arxiv_id=value)
        if value.isdigit():
            lookup |= Q(pk=int(value))
        paper = Paper.objects.filter(lookup).order_by("id").first()
        if paper is None:
            raise ValidationError("No paper has that id.")
        return paper


class ObjectActionsMixin:
    """Shows some list actions as buttons on the object's own page (they post to the change list)."""

    change_form_template = "admin/paperboy/change_form_actions.html"
    # (action name, button label, asks for input first)
    object_actions: tuple[tuple[str, str, bool], ...] = ()

    def object_action_applies(self, obj, name: str) -> bool:
        return True

    def change_view(self, request, object_id, form_url="", extra_context=None):
        allowed = self.get_actions(request)
        obj = self.get_object(request, unquote(object_id))
        buttons = [a for a in self.object_actions if a[0] in allowed and obj and self.object_action_applies(obj, a[0])]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "object_actions": buttons})


# --- Feeds ---------------------------------------------------------------------------------------


class FeedHealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return (
            ("flagged", f"Flagged ({flag_after()}+ failures in a row)"),
            ("failing", "Last fetch failed"),
            ("healthy", "Healthy"),
        )

    def queryset(self, request, queryset):
        if self.value() == "flagged":
            return queryset.filter(consecutive_failures__gte=flag_after())
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "healthy":
            return queryset.filter(consecutive_failures=0)
        return queryset


@admin.register(Feed)
class FeedAdmin(ObjectActionsMixin, PageAnnotateMixin, admin.ModelAdmin):
    object_actions = (
        ("approve_selected", "Approve", False),
        ("reject_selected", "Reject…", True),
        ("disable_selected", "Disable", False),
        ("fetch_now", "Fetch now", False),
    )

    def object_action_applies(self, feed: Feed, name: str) -> bool:
        return {
            "approve_selected": feed.state != Feed.State.APPROVED,
            "reject_selected": feed.state == Feed.State.PENDING,
            "disable_selected": feed.state == Feed.State.APPROVED,
            "fetch_now": feed.state == Feed.State.APPROVED,
        }.get(name, True)

    list_display = (
        "name",
        "kind",
        "state_label",
        "health",
        "last_fetched_at",
        "last_status",
        "papers_recent",
        "consecutive_failures",
        "last_error_short",
    )
    list_filter = ("state", "kind", FeedHealthFilter)
    search_fields = ("name", "url", "categories")
    list_select_related = ()
    actions = ("approve_selected", "reject_selected", "disable_selected", "fetch_now")
    list_per_page = 100
    readonly_fields = (
        "state",
        "suggestion_reason",
        "rejection_reason",
        "moderated_by",
        "moderated_at",
        "last_fetched_at",
        "last_status",
        "last_error",
        "consecutive_failures",
        "created_at",
        "recent_runs",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "url", "categories", "params", "cadence_minutes", "next_fetch_at")}),
        (
            "Moderation",
            {
                "fields": (
                    "state",
                    "suggested_by",
                    "suggestion_reason",
                    "rejection_reason",
                    "moderated_by",
                    "moderated_at",
                )
            },
        ),
        (
            "Health",
            {"fields": ("last_fetched_at", "last_status", "consecutive_failures", "last_error", "recent_runs")},
        ),
    )

    def page_annotate(self, rows: list[Feed]) -> None:
        since = timezone.now() - timedelta(days=RECENT_DAYS)
        counts = papers_recent_counts(feed_ids=[f.pk for f in rows], since=since)
        for feed in rows:
            feed.papers_recent_n = counts.get(feed.pk, 0)

    @admin.display(description="state", ordering="state")
    def state_label(self, feed: Feed) -> str:
        colours = {"pending": "#b36b00", "approved": "#1a7f37", "rejected": "#a40e26", "disabled": "#666"}
        return format_html('<b style="color:{}">{}</b>', colours.get(feed.state, "#000"), feed.get_state_display())

    @admin.display(description="health", ordering="consecutive_failures")
    def health(self, feed: Feed) -> str:
        if feed.consecutive_failures >= flag_after():
            return format_html(
                '<span title="{} failures in a row" style="color:#a40e26">⚑ flagged</span>', feed.consecutive_failures
            )
        if feed.consecutive_failures:
            return "failing"
        return "ok" if feed.last_fetched_at else "—"

    @admin.display(description=f"papers ({RECENT_DAYS} days)")
    def papers_recent(self, feed: Feed) -> int:
        return feed.papers_recent_n

    @admin.display(description="last error")
    def last_error_short(self, feed: Feed) -> str:
        return _short(feed.last_error, 60)

    @admin.display(description="suggested by")
    def suggested_by_email(self, feed: Feed) -> str:
        return feed.suggested_by.email if feed.suggested_by_id else "—"

    @admin.display(description="suggested by")
    def suggested_by_anonymous(self, feed: Feed) -> str:
        return f"subscriber #{feed.suggested_by_id}" if feed.suggested_by_id else "—"

    def _suggester_field(self, request) -> str:
        return "suggested_by_email" if can_see_subscribers(request) else "suggested_by_anonymous"

    form = FeedAdminForm

    def get_readonly_fields(self, request, obj=None):
        locked = FILE_FEED_LOCKED if feed_is_file(obj) else ()  # an operator's file feed (manage.py only)
        return (*self.readonly_fields, *locked, self._suggester_field(request))

    def construct_change_message(self, request, form, formsets, add=False):
        return super().construct_change_message(request, form, formsets, add) if add else feed_change_message(form)

    def get_fieldsets(self, request, obj=None):
        suggester = self._suggester_field(request)
        return [
            (name, {**options, "fields": tuple(suggester if f == "suggested_by" else f for f in options["fields"])})
            for name, options in self.fieldsets
        ]

    @admin.display(description="recent fetches")
    def recent_runs(self, feed: Feed) -> str:
        runs = FeedRun.objects.filter(feed=feed).order_by("-started_at")[:10]
        if not runs:
            return "never fetched"
        return format_html(
            "<table><tr><th>started</th><th>status</th><th>HTTP</th><th>new</th><th>updated</th>"
            "<th>skipped</th><th>error</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        f"{r.started_at:%Y-%m-%d %H:%M}",
                        r.get_status_display(),
                        r.http_status or "",
                        r.new,
                        r.updated,
                        r.skipped,
                        _short(r.error, 80),
                    )
                    for r in runs
                ),
            ),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            # A feed a moderator adds is trusted from the start; record who decided.
            obj.moderated_by = request.user
            obj.moderated_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve selected feeds (start fetching)", permissions=["change"])
    def approve_selected(self, request, queryset):
        changed = sum(moderation.feed_approve(feed=feed, by=request.user) for feed in queryset)
        self.message_user(request, f"Approved {changed} feed(s).", messages.SUCCESS)

    @admin.action(description="Reject selected suggestions (emails the suggester)…", permissions=["change"])
    def reject_selected(self, request, queryset):
        def apply(data):
            done, problems = 0, []
            for feed in queryset.select_related("suggested_by"):
                try:
                    outcome = moderation.feed_reject(feed=feed, by=request.user, reason=data["reason"])
                except ModerationError as exc:
                    problems.append(str(exc))
                    continue
                done += 1
                if outcome.mail_error:
                    problems.append(f"“{feed.name}” is rejected but the email failed: {outcome.mail_error}")
            self.message_user(request, f"Rejected {done} feed(s).", messages.SUCCESS)
            for problem in problems:
                self.message_user(request, problem, messages.WARNING)

        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReasonForm,
            title="Reject feed suggestions",
            intro="The person who suggested each feed receives this reason by email.",
            apply=apply,
        )

    @admin.action(description="Disable selected feeds (stop fetching)", permissions=["change"])
    def disable_selected(self, request, queryset):
        changed = sum(moderation.feed_disable(feed=feed, by=request.user) for feed in queryset)
        self.message_user(request, f"Disabled {changed} feed(s).", messages.SUCCESS)

    @admin.action(description="Fetch now", permissions=["change"])
    def fetch_now(self, request, queryset):
        queued = 0
        for feed in queryset:
            try:
                moderation.feed_fetch_now(feed=feed, by=request.user)
                queued += 1
            except ModerationError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        if queued:
            self.message_user(request, f"Queued a fetch of {queued} feed(s).", messages.SUCCESS)


@admin.register(FeedRun)
class FeedRunAdmin(ReadOnlyMixin, BigTableAdmin):
    list_display = (
        "feed",
        "started_at",
        "status",
        "http_status",
        "fetched",
        "new",
        "updated",
        "skipped",
        "error_short",
    )
    list_filter = ("status", "feed")
    list_select_related = ("feed",)
    date_hierarchy = None
    ordering = ("-started_at",)

    @admin.display(description="error")
    def error_short(self, run: FeedRun) -> str:
        return _short(run.error, 80)


# --- Papers --------------------------------------------------------------------------------------


class DuplicateFilter(admin.SimpleListFilter):
    title = "duplicate"
    parameter_name = "duplicate"

    def lookups(self, request, model_admin):
        return (("yes", "Merged into another paper"), ("no", "Not a duplicate"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(duplicate_of__isnull=False)
        if self.value() == "no":
            return queryset.filter(duplicate_of__isnull=True)
        return queryset


@admin.register(Paper)
class PaperAdmin(ObjectActionsMixin, PageAnnotateMixin, BigTableAdmin):
    object_actions = (
        ("hide_selected", "Hide…", True),
        ("unhide_selected", "Unhide", False),
        ("unflag_selected", "Clear the flag", False),
        ("mark_duplicate", "Mark as duplicate…", True),
    )

    def object_action_applies(self, paper: Paper, name: str) -> bool:
        return {
            "hide_selected": not paper.hidden,
            "unhide_selected": paper.hidden and paper.duplicate_of_id is None,
            "unflag_selected": paper.flagged,
            "mark_duplicate": paper.duplicate_of_id is None,
        }.get(name, True)

    list_display = (
        "title_short",
        "feed",
        "published",
        "ingested_at",
        "hidden",
        "flagged",
        "duplicate_of_link",
        "recipients",
    )
    list_filter = (
        "hidden",
        "flagged",
        DuplicateFilter,
        "feed",
        ("ingested_at", admin.DateFieldListFilter),
        ("published", admin.DateFieldListFilter),
    )
    # An id is looked up exactly first (unique indexes, see get_search_results); words search titles,
    # which scans the table unless the trigram index of docs/ADMIN.md exists.
    search_fields = ("title",)
    list_select_related = ("feed",)
    ordering = ("-ingested_at", "-id")
    actions = ("hide_selected", "unhide_selected", "unflag_selected", "mark_duplicate")
    readonly_fields = (
        "external_id",
        "arxiv_id",
        "version",
        "title",
        "abstract",
        "authors",
        "categories",
        "primary_category",
        "url",
        "pdf_url",
        "hf_url",
        "published",
        "updated",
        "feed",
        "popularity",
        "num_comments",
        "extra",
        "hidden",
        "hidden_reason",
        "flagged",
        "duplicate_of_link",
        "ingested_at",
        "recipients",
        "planned_digests",
    )
    exclude = ("title_key", "duplicate_of")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name and match.url_name.endswith("changelist"):
            # Abstracts and JSON blobs are the bulk of a row; the list never shows them.
            queryset = queryset.defer("abstract", "extra", "authors", "categories")
        return queryset

    def has_add_permission(self, request):
        return False  # papers come from feeds

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().removeprefix("arXiv:").removeprefix("arxiv:")
        if term and " " not in term:
            exact = queryset.filter(Q(external_id=term) | Q(arxiv_id=term))
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="title", ordering="title")
    def title_short(self, paper: Paper) -> str:
        return _short(paper.title, 90)

    @admin.display(description="duplicate of")
    def duplicate_of_link(self, paper: Paper) -> str:
        if paper.duplicate_of_id is None:
            return ""
        url = reverse("admin:digest_paper_change", args=[paper.duplicate_of_id])
        return format_html('<a href="{}">#{}</a>', url, paper.duplicate_of_id)

    def page_annotate(self, rows: list[Paper]) -> None:
        counts = paper_recipients_counts(paper_ids=[p.pk for p in rows])
        for paper in rows:
            paper.recipients_n = counts.get(paper.pk, 0)

    @admin.display(description="sent to (subscribers)")
    def recipients(self, paper: Paper) -> int:
        if not hasattr(paper, "recipients_n"):  # the paper's own page
            paper.recipients_n = paper_recipients_counts(paper_ids=[paper.pk]).get(paper.pk, 0)
        return paper.recipients_n

    @admin.display(description="planned digests holding it")
    def planned_digests(self, paper: Paper) -> str:
        count = deliveries_pending_with_paper(paper_id=paper.pk).count()
        if paper.hidden and count:
            return f"{count} (it will be left out of them)"
        return str(count)

    @admin.action(description="Hide selected papers from all digests…", permissions=["change"])
    def hide_selected(self, request, queryset):
        def apply(data):
            count = moderation.paper_hide(papers=queryset, by=request.user, reason=data["reason"])
            self.message_user(request, f"Hid {count} paper(s); planned digests will leave them out.", messages.SUCCESS)

        return action_with_form(
            self,
            request,
            queryset,
            form_class=OptionalReasonForm,
            title="Hide papers",
            intro="Hidden papers are never put in a digest, including digests planned but not sent yet.",
            apply=apply,
        )

    @admin.action(description="Unhide selected papers", permissions=["change"])
    def unhide_selected(self, request, queryset):
        count = moderation.paper_unhide(papers=queryset, by=request.user)
        self.message_user(request, f"Unhid {count} paper(s).", messages.SUCCESS)

    @admin.action(description="Mark as reviewed (clear the flag)", permissions=["change"])
    def unflag_selected(self, request, queryset):
        count = moderation.paper_unflag(papers=queryset, by=request.user)
        self.message_user(request, f"Cleared the flag on {count} paper(s).", messages.SUCCESS)

    @admin.action(description="Mark as duplicate of another paper (merge)…", permissions=["change"])
    def mark_duplicate(self, request, queryset):
        def apply(data):
            canonical = data["canonical"]
            for paper in queryset:
                if paper.pk == canonical.pk:
                    continue
                try:
                    kept = moderation.paper_mark_duplicate(duplicate=paper, canonical=canonical, by=request.user)
                except ModerationError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                else:
                    self.message_user(request, f"Merged #{paper.pk} into #{kept.pk}.", messages.SUCCESS)

        return action_with_form(
            self,
            request,
            queryset,
            form_class=DuplicateOfForm,
            title="Merge duplicate papers",
            intro="The selected papers are hidden and merged into the paper you keep; "
            "subscribers who received one of them will not receive the kept one again.",
            apply=apply,
        )


# --- Subscribers, deliveries, suppressions (never shown to moderators) ---------------------------


class InterestInline(ReadOnlyMixin, admin.TabularInline):
    """Shown, not edited: interests go through the query-language checks of the preferences page."""

    model = Interest
    extra = 0
    fields = ("query", "position", "created_at")
    readonly_fields = fields


class SubscriberStateFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("paused", "Paused"), ("unsubscribed", "Unsubscribed"))

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(unsubscribed_at__isnull=True, paused=False)
        if self.value() == "paused":
            return queryset.filter(unsubscribed_at__isnull=True, paused=True)
        if self.value() == "unsubscribed":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset


@admin.register(Subscription)
class SubscriptionAdmin(BigTableAdmin):
    list_display = ("email", "status", "frequency", "send_hour", "timezone", "max_papers", "created_at")
    list_filter = (SubscriberStateFilter, "frequency")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    ordering = ("-id",)
    inlines = (InterestInline,)
    actions = ("suppress_addresses", "unsuppress_addresses", "resend_latest")
    readonly_fields = ("user", "feed_token", "created_at", "updated_at", "unsubscribed_at", "delivery_history")
    exclude = ()

    @admin.display(description="email", ordering="user__email")
    def email(self, sub: Subscription) -> str:
        return sub.user.email

    @admin.display(description="status")
    def status(self, sub: Subscription) -> str:
        if sub.unsubscribed_at:
            return "unsubscribed"
        return "paused" if sub.paused else "active"

    @admin.display(description="delivery history (latest 30)")
    def delivery_history(self, sub: Subscription) -> str:
        rows = sub.deliveries.order_by("-slot", "-id")[:30]
        if not rows:
            return "no digest yet"
        all_url = reverse("admin:digest_delivery_changelist") + f"?subscription__id__exact={sub.pk}"
        table = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:digest_delivery_change", args=[d.pk]),
                    d.slot,
                    d.get_kind_display(),
                    d.get_state_display(),
                    d.paper_count,
                    (d.sent_at and f"{d.sent_at:%Y-%m-%d %H:%M}") or "",
                    _short(d.last_error, 80),
                )
                for d in rows
            ),
        )
        return format_html(
            "<table><tr><th>slot</th><th>kind</th><th>state</th><th>papers</th><th>sent</th><th>last reply</th></tr>"
            '{}</table><p><a href="{}">All deliveries of this subscriber (resend from there)</a></p>',
            table,
            all_url,
        )

    @admin.action(description="Suppress the addresses (stop all email to them)", permissions=["change"])
    def suppress_addresses(self, request, queryset):
        for sub in queryset.select_related("user"):
            moderation.address_suppress(email=sub.user.email, by=request.user, reason="Suppressed from the admin")
        self.message_user(request, f"Suppressed {queryset.count()} address(es).", messages.SUCCESS)

    @admin.action(description="Lift the suppression of the addresses", permissions=["change"])
    def unsuppress_addresses(self, request, queryset):
        emails = [e.lower() for e in queryset.values_list("user__email", flat=True)]
        lifted = 0
        for suppression in Suppression.objects.filter(active=True):
            if suppression.email.lower() in emails:
                lifted += moderation.address_unsuppress(suppression=suppression, by=request.user)
        self.message_user(request, f"Lifted {lifted} suppression(s).", messages.SUCCESS)

    @admin.action(description="Resend the latest digest", permissions=["change"])
    def resend_latest(self, request, queryset):
        for sub in queryset.select_related("user"):
            latest = sub.deliveries.filter(kind=Delivery.Kind.DIGEST).order_by("-slot", "-id").first()
            if latest is None:
                self.message_user(request, f"{sub.user.email} has no digest yet.", messages.WARNING)
                continue
            _resend(self, request, latest)


def _resend(modeladmin: admin.ModelAdmin, request: HttpRequest, delivery: Delivery) -> None:
    try:
        moderation.delivery_resend(delivery=delivery, by=request.user)
    except ModerationError as exc:
        modeladmin.message_user(request, f"Digest {delivery.slot}: {exc}", messages.WARNING)
    else:
        modeladmin.message_user(request, f"Digest {delivery.slot} queued to be sent again.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(ObjectActionsMixin, BigTableAdmin):
    object_actions = (("resend_selected", "Resend this digest", False),)
    list_display = ("id", "recipient", "slot", "kind", "state", "attempts", "paper_count", "sent_at", "reply")
    list_filter = ("state", "kind", ("slot", admin.DateFieldListFilter))
    # Exact address (iexact on the indexed users table, then the subscription's deliveries).
    search_fields = ("=subscription__user__email",)
    list_select_related = ("subscription__user",)
    ordering = ("-id",)
    actions = ("resend_selected", "retry_failed_selected")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    @admin.display(description="recipient", ordering="to_email")
    def recipient(self, delivery: Delivery) -> str:
        return delivery.to_email or delivery.subscription.user.email

    @admin.display(description="SMTP reply / note")
    def reply(self, delivery: Delivery) -> str:
        return _short(delivery.last_error, 70)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Resend the selected digests", permissions=["change"])
    def resend_selected(self, request, queryset):
        for delivery in queryset.select_related("subscription__user")[:500]:
            _resend(self, request, delivery)

    @admin.action(description="Retry the selected failed digests", permissions=["change"])
    def retry_failed_selected(self, request, queryset):
        count = moderation.deliveries_retry_failed(by=request.user, deliveries=queryset)
        self.message_user(request, f"Queued {count} failed digest(s) for another attempt.", messages.SUCCESS)


class SuppressionForm(forms.ModelForm):
    class Meta:
        model = Suppression
        fields = ("email", "reason")


@admin.register(Suppression)
class SuppressionAdmin(BigTableAdmin):
    list_display = ("email", "active", "source", "reason", "soft_bounces", "created_at")
    list_filter = ("active", "source")
    search_fields = ("=email",)
    ordering = ("-id",)
    actions = ("lift_selected", "reinstate_selected")
    form = SuppressionForm

    def get_readonly_fields(self, request, obj=None):
        return ("email", "reason", "source", "active", "soft_bounces", "created_at") if obj else ()

    def save_model(self, request, obj, form, change):
        # New suppressions go through the service: it also stops the planned digests to that address.
        if not change:
            saved = moderation.address_suppress(email=obj.email, by=request.user, reason=obj.reason)
            obj.pk = saved.pk

    def log_addition(self, request, obj, message):
        return None  # the service already wrote the LogEntry

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Lift the selected suppressions", permissions=["change"])
    def lift_selected(self, request, queryset):
        lifted = sum(moderation.address_unsuppress(suppression=s, by=request.user) for s in queryset)
        self.message_user(request, f"Lifted {lifted} suppression(s).", messages.SUCCESS)

    @admin.action(description="Suppress the selected addresses again", permissions=["change"])
    def reinstate_selected(self, request, queryset):
        for suppression in queryset:
            moderation.address_suppress(email=suppression.email, by=request.user, reason=suppression.reason)
        self.message_user(request, f"Suppressed {queryset.count()} address(es).", messages.SUCCESS)


# --- Runs dashboard ------------------------------------------------------------------------------


class PauseForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


@admin.register(DeliveryRun)
class DeliveryRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The "Delivery runs" entry of the admin opens the runs dashboard."""

    list_display = ("slot", "started_at", "finished_at", "papers", "planned")

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
        op = request.POST.get("op")
        if op in {"pause", "resume"}:
            if not request.user.has_perm("digest.change_sendingcontrol"):
                raise PermissionDenied
            if op == "pause":
                form = PauseForm(request.POST)
                reason = form.cleaned_data["reason"] if form.is_valid() else ""
                moderation.sending_pause(by=request.user, reason=reason)
                self.message_user(request, "Sending is paused.", messages.WARNING)
            else:
                moderation.sending_resume(by=request.user)
                self.message_user(request, "Sending resumed.", messages.SUCCESS)
        elif op == "retry":
            if not request.user.has_perm("digest.change_delivery"):
                raise PermissionDenied
            slot = parse_date(request.POST.get("slot") or "")
            if slot is None:
                self.message_user(request, "Choose a slot to retry.", messages.ERROR)
            else:
                count = moderation.deliveries_retry_failed(by=request.user, slot=slot)
                self.message_user(request, f"Queued {count} failed digest(s) of {slot} again.", messages.SUCCESS)
        else:
            self.message_user(request, "Unknown operation.", messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


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


# --- The moderation log --------------------------------------------------------------------------

# Moderators see the history of what they may moderate; entries about subscribers name addresses.
_MODERATOR_LOG_MODELS = (("digest", "feed"), ("digest", "paper"), ("digest", "feedrun"))


class StaffUserFilter(admin.SimpleListFilter):
    """Who did it: lists staff only (a plain user filter would list every subscriber)."""

    title = "by"
    parameter_name = "by"

    def lookups(self, request, model_admin):
        from accounts.models import User

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
        if entry.content_type_id and entry.object_id and entry.action_flag != 3:
            try:
                url = reverse(
                    f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change", args=[entry.object_id]
                )
            except NoReverseMatch:
                url = None
        return format_html('<a href="{}">{}</a>', url, entry.object_repr) if url else entry.object_repr

    @admin.display(description="what")
    def change_message_text(self, entry: LogEntry) -> str:
        return entry.get_change_message()


# --- What subscribers taught their digest (read-only; subscriber data, so superusers only) --------


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
