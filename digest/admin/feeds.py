"""Feeds and their fetch runs: approve, reject (emails the suggester), disable, fetch now; health at a glance."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from digest.admin.base import (
    BigTableAdmin,
    ObjectActionsMixin,
    PageAnnotateMixin,
    ReadOnlyMixin,
    ReasonForm,
    acting_user,
    action_with_form,
    can_see_subscribers,
    short_text,
)
from digest.feed_form import FILE_FEED_LOCKED, FeedAdminForm, feed_change_message, feed_is_file
from digest.models import Feed, FeedRun
from digest.selectors.moderation import feed_runs_recent, papers_recent_counts
from digest.services import moderation
from digest.services.ingest.runs import feed_is_flagged
from digest.services.moderation import ModerationError

RECENT_DAYS = 7


class FeedHealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return (
            ("flagged", f"Flagged ({settings.PAPERBOY_FEED_FLAG_AFTER_FAILURES}+ failures in a row)"),
            ("failing", "Last fetch failed"),
            ("healthy", "Healthy"),
        )

    def queryset(self, request, queryset):
        if self.value() == "flagged":
            return queryset.filter(consecutive_failures__gte=settings.PAPERBOY_FEED_FLAG_AFTER_FAILURES)
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "healthy":
            return queryset.filter(consecutive_failures=0)
        return queryset


@admin.register(Feed)
class FeedAdmin(ObjectActionsMixin, PageAnnotateMixin):
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
            feed.papers_recent_n = counts.get(feed.pk, 0)  # type: ignore[attr-defined]  # a number for this page

    @admin.display(description="state", ordering="state")
    def state_label(self, feed: Feed) -> str:
        colours = {"pending": "#b36b00", "approved": "#1a7f37", "rejected": "#a40e26", "disabled": "#666"}
        return format_html('<b style="color:{}">{}</b>', colours.get(feed.state, "#000"), feed.get_state_display())

    @admin.display(description="health", ordering="consecutive_failures")
    def health(self, feed: Feed) -> str:
        if feed_is_flagged(feed):
            return format_html(
                '<span title="{} failures in a row" style="color:#a40e26">⚑ flagged</span>', feed.consecutive_failures
            )
        if feed.consecutive_failures:
            return "failing"
        return "ok" if feed.last_fetched_at else "—"

    @admin.display(description=f"papers ({RECENT_DAYS} days)")
    def papers_recent(self, feed: Feed) -> int:
        return feed.papers_recent_n  # type: ignore[attr-defined]

    @admin.display(description="last error")
    def last_error_short(self, feed: Feed) -> str:
        return short_text(feed.last_error, 60)

    @admin.display(description="suggested by")
    def suggested_by_email(self, feed: Feed) -> str:
        return feed.suggested_by.email if feed.suggested_by is not None else "—"

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
        runs = feed_runs_recent(feed_id=feed.pk)
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
                        short_text(r.error, 80),
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
        changed = sum(moderation.feed_approve(feed=feed, by=acting_user(request)) for feed in queryset)
        self.message_user(request, f"Approved {changed} feed(s).", messages.SUCCESS)

    @admin.action(description="Reject selected suggestions (emails the suggester)…", permissions=["change"])
    def reject_selected(self, request, queryset):
        def apply(data):
            done, problems = 0, []
            for feed in queryset.select_related("suggested_by"):
                try:
                    outcome = moderation.feed_reject(feed=feed, by=acting_user(request), reason=data["reason"])
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
        changed = sum(moderation.feed_disable(feed=feed, by=acting_user(request)) for feed in queryset)
        self.message_user(request, f"Disabled {changed} feed(s).", messages.SUCCESS)

    @admin.action(description="Fetch now", permissions=["change"])
    def fetch_now(self, request, queryset):
        queued = 0
        for feed in queryset:
            try:
                moderation.feed_fetch_now(feed=feed, by=acting_user(request))
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
        return short_text(run.error, 80)
