"""Papers: hide, unhide, clear the flag, merge duplicates; how many subscribers got each one."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from digest.admin.base import (
    BigTableAdmin,
    ObjectActionsMixin,
    OptionalReasonForm,
    PageAnnotateMixin,
    acting_user,
    action_with_form,
    short_text,
)
from digest.models import Paper
from digest.selectors.moderation import deliveries_pending_with_paper, paper_recipients_counts
from digest.selectors.papers import paper_by_any_id, papers_with_external_id
from digest.services import moderation
from digest.services.moderation import ModerationError


class DuplicateOfForm(forms.Form):
    canonical = forms.CharField(
        label="Keep this paper",
        help_text="The id of the paper to keep (the number in its admin URL), or its external id / arXiv id.",
    )

    def clean_canonical(self) -> Paper:
        paper = paper_by_any_id(value=self.cleaned_data["canonical"])
        if paper is None:
            raise ValidationError("No paper has that id.")
        return paper


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
            exact = papers_with_external_id(papers=queryset, value=term)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="title", ordering="title")
    def title_short(self, paper: Paper) -> str:
        return short_text(paper.title, 90)

    @admin.display(description="duplicate of")
    def duplicate_of_link(self, paper: Paper) -> str:
        if paper.duplicate_of_id is None:
            return ""
        url = reverse("admin:digest_paper_change", args=[paper.duplicate_of_id])
        return format_html('<a href="{}">#{}</a>', url, paper.duplicate_of_id)

    def page_annotate(self, rows: list[Paper]) -> None:
        counts = paper_recipients_counts(paper_ids=[p.pk for p in rows])
        for paper in rows:
            paper.recipients_n = counts.get(paper.pk, 0)  # type: ignore[attr-defined]  # a number for this page

    @admin.display(description="sent to (subscribers)")
    def recipients(self, paper: Paper) -> int:
        if not hasattr(paper, "recipients_n"):  # the paper's own page
            paper.recipients_n = paper_recipients_counts(paper_ids=[paper.pk]).get(paper.pk, 0)  # type: ignore[attr-defined]
        return paper.recipients_n  # type: ignore[attr-defined]

    @admin.display(description="planned digests holding it")
    def planned_digests(self, paper: Paper) -> str:
        count = deliveries_pending_with_paper(paper_id=paper.pk).count()
        if paper.hidden and count:
            return f"{count} (it will be left out of them)"
        return str(count)

    @admin.action(description="Hide selected papers from all digests…", permissions=["change"])
    def hide_selected(self, request, queryset):
        def apply(data):
            count = moderation.paper_hide(papers=queryset, by=acting_user(request), reason=data["reason"])
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
        count = moderation.paper_unhide(papers=queryset, by=acting_user(request))
        self.message_user(request, f"Unhid {count} paper(s).", messages.SUCCESS)

    @admin.action(description="Mark as reviewed (clear the flag)", permissions=["change"])
    def unflag_selected(self, request, queryset):
        count = moderation.paper_unflag(papers=queryset, by=acting_user(request))
        self.message_user(request, f"Cleared the flag on {count} paper(s).", messages.SUCCESS)

    @admin.action(description="Mark as duplicate of another paper (merge)…", permissions=["change"])
    def mark_duplicate(self, request, queryset):
        def apply(data):
            canonical = data["canonical"]
            for paper in queryset:
                if paper.pk == canonical.pk:
                    continue
                try:
                    kept = moderation.paper_mark_duplicate(
                        duplicate=paper, canonical=canonical, by=acting_user(request)
                    )
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
