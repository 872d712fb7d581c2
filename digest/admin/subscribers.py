"""The personal-data side: subscriptions, deliveries and suppressions.

Everything here shows subscribers' addresses; the ``moderators`` group has no permission on these
models (``digest/services/roles.py``), so what a moderator can never see is this one file.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from digest.admin.base import BigTableAdmin, ObjectActionsMixin, ReadOnlyMixin, acting_user, short_text
from digest.models import Delivery, Interest, LibraryItem, Subscription, Suppression
from digest.selectors.subscriptions import deliveries_recent, delivery_latest_digest
from digest.services import moderation
from digest.services.moderation import ModerationError


class InterestInline(ReadOnlyMixin, admin.TabularInline):
    """Shown, not edited: interests go through the query-language checks of the preferences page."""

    model = Interest
    extra = 0
    fields = ("query", "position", "created_at")
    readonly_fields = fields


class LibraryItemInline(ReadOnlyMixin, admin.TabularInline):
    """The subscriber's library ("papers like these"), read-only: papers come in through the
    preferences page's import, which checks and resolves them."""

    model = LibraryItem
    verbose_name = "library paper"
    verbose_name_plural = "library (papers like these)"
    extra = 0
    fields = ("title", "identifier", "source", "added_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("paper")

    @admin.display(description="title")
    def title(self, item: LibraryItem) -> str:
        return short_text(item.paper.title)

    @admin.display(description="arXiv id / DOI")
    def identifier(self, item: LibraryItem) -> str:
        return item.paper.arxiv_id or item.paper.doi or "—"


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
    inlines = (InterestInline, LibraryItemInline)
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
        rows = deliveries_recent(subscription_id=sub.pk)
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
                    short_text(d.last_error, 80),
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
            moderation.address_suppress(
                email=sub.user.email, by=acting_user(request), reason="Suppressed from the admin"
            )
        self.message_user(request, f"Suppressed {queryset.count()} address(es).", messages.SUCCESS)

    @admin.action(description="Lift the suppression of the addresses", permissions=["change"])
    def unsuppress_addresses(self, request, queryset):
        emails = queryset.values_list("user__email", flat=True)
        lifted = moderation.addresses_unsuppress(emails=emails, by=acting_user(request))
        self.message_user(request, f"Lifted {lifted} suppression(s).", messages.SUCCESS)

    @admin.action(description="Resend the latest digest", permissions=["change"])
    def resend_latest(self, request, queryset):
        for sub in queryset.select_related("user"):
            latest = delivery_latest_digest(subscription=sub)
            if latest is None:
                self.message_user(request, f"{sub.user.email} has no digest yet.", messages.WARNING)
                continue
            _resend(self, request, latest)


def _resend(modeladmin: admin.ModelAdmin, request: HttpRequest, delivery: Delivery) -> None:
    try:
        moderation.delivery_resend(delivery=delivery, by=acting_user(request))
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
        return short_text(delivery.last_error, 70)

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
        count = moderation.deliveries_retry_failed(by=acting_user(request), deliveries=queryset)
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
            saved = moderation.address_suppress(email=obj.email, by=acting_user(request), reason=obj.reason)
            obj.pk = saved.pk

    def log_addition(self, request, obj, message):
        return None  # the service already wrote the LogEntry

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Lift the selected suppressions", permissions=["change"])
    def lift_selected(self, request, queryset):
        lifted = sum(moderation.address_unsuppress(suppression=s, by=acting_user(request)) for s in queryset)
        self.message_user(request, f"Lifted {lifted} suppression(s).", messages.SUCCESS)

    @admin.action(description="Suppress the selected addresses again", permissions=["change"])
    def reinstate_selected(self, request, queryset):
        for suppression in queryset:
            moderation.address_suppress(email=suppression.email, by=acting_user(request), reason=suppression.reason)
        self.message_user(request, f"Suppressed {queryset.count()} address(es).", messages.SUCCESS)
