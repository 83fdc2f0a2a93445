"""Stored checks and their findings in the admin (read-only), with the rule filter of the user's own checks."""

from __future__ import annotations

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from billing.admin.base import PracticeScopedAdmin
from billing.models import (
    ClaimCheck,
    Finding,
)
from config.admin_site import ReadOnlyInline
from practice.selectors import practices_for

SEVERITY_COLOURS = {
    "error": "#c62828",
    "warning": "#ef6c00",
    "info": "#1565c0",
    "clean": "#2e7d32",
    "ready": "#2e7d32",
    "draft": "#555",
}


class LatestRuleFilter(admin.SimpleListFilter):
    title = "finding (latest check)"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        rules = (
            Finding.objects.filter(check_run__practice__in=practices_for(request.user))
            .values_list("rule", flat=True)
            .distinct()
            .order_by("rule")
        )
        return [(r, r) for r in rules]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(checks__findings__rule=self.value()).distinct()
        return queryset


def findings_html(check, overrides: dict | None = None) -> str:
    """The findings of a check as the billing office reads them (worst first, with overrides), never raw JSON."""
    order = {"error": 0, "warning": 1, "info": 2}
    overrides = overrides or {}
    findings = [
        {**f, "override": overrides.get(f.get("rule"))}
        for f in sorted(check.result.get("findings", []), key=lambda f: order.get(f["severity"], 3))
    ]
    return mark_safe(  # noqa: S308 (the template escapes every value)
        render_to_string(
            "admin/billing/findings.html", {"check": check, "findings": findings, "colours": SEVERITY_COLOURS}
        )
    )


def _count(result: dict) -> str:
    counts: dict[str, int] = {}
    for f in result.get("findings", []):
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items()) or "no findings"


class FindingInline(ReadOnlyInline):
    model = Finding
    fields = ["severity", "rule", "line", "message", "suggestion", "reference"]


@admin.register(ClaimCheck)
class ClaimCheckAdmin(PracticeScopedAdmin):
    list_display = [
        "__str__",
        "claim_name",
        "payer_key",
        "date_of_service",
        "status",
        "source",
        "checked_by",
        "checked_at",
    ]
    list_filter = ["status", "payer_key", "source", "findings__rule", "checked_at"]
    date_hierarchy = "checked_at"
    search_fields = ["reference"]
    fields = readonly_fields = [
        "practice",
        "claim_name",
        "draft_claim",
        "payer_key",
        "date_of_service",
        "status",
        "source",
        "checked_at",
        "checked_by",
        "upload",
        "coding_text",
        "findings_panel",
    ]
    inlines = []  # the findings panel shows them (the Finding rows are for filters and the report)

    @admin.display(description="Claim reference", ordering="reference")
    def claim_name(self, obj):
        return obj.reference or (f"claim #{obj.claim_id}" if obj.claim_id else "-")

    @admin.display(description="Draft claim")
    def draft_claim(self, obj):
        if obj.claim_id is None:
            return "-" if obj.upload_id is None else "none (checked from a batch upload)"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:billing_draftclaim_change", args=[obj.claim_id]), obj.claim
        )

    @admin.display(description="Coding used")
    def coding_text(self, obj):
        releases = [c.get("release", "") if isinstance(c, dict) else str(c) for c in obj.coding or []]
        return "; ".join(r for r in releases if r) or "none"

    @admin.display(description="Findings")
    def findings_panel(self, obj):
        return findings_html(obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
