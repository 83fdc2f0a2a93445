"""Report files: the practice manager's generated downloads, with their progress."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from billing import models as billing_models
from billing.admin.base import PracticeScopedAdmin

# ---- report files (the practice manager's downloads) ------------------------------------------------------


@admin.register(billing_models.ReportFile)
class ReportFileAdmin(PracticeScopedAdmin):
    """Generated billing guides and check reports of the user's practices: status, progress, download link.
    New reports are made on the Check report page (linked above the list); this list only shows them."""

    list_display = [
        "created_at",
        "kind",
        "period",
        "status_badge",
        "progress_bar",
        "download",
        "practice",
        "created_by",
    ]
    list_filter = ["kind", "status"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "practice",
        "kind",
        "parameters",
        "status",
        "progress",
        "download",
        "error",
        "created_by",
        "created_at",
        "finished_at",
    ]
    exclude = ["file"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("practice", "created_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        busy_statuses = [billing_models.JobStatus.QUEUED, billing_models.JobStatus.RUNNING]
        busy = self.get_queryset(request).filter(status__in=busy_statuses).exists()
        return super().changelist_view(request, {**(extra_context or {}), "refresh": busy})

    @admin.display(description="Period")
    def period(self, obj):
        params = obj.parameters or {}
        if obj.kind == "report":
            return f"{params.get('period_from') or '…'} to {params.get('period_to') or '…'}"
        return ", ".join(f"{k}: {v}" for k, v in params.items())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colour = {"done": "#2e7d32", "failed": "#c62828", "running": "#1565c0"}.get(obj.status, "#555")
        text = obj.get_status_display()
        if obj.status == billing_models.JobStatus.FAILED and obj.error:
            return format_html('<b style="color:{}" title="{}">{}</b>: {}', colour, obj.error, text, obj.error[:120])
        return format_html('<b style="color:{}">{}</b>', colour, text)

    @admin.display(description="Progress")
    def progress_bar(self, obj):
        return format_html(
            '<progress max="100" value="{}" style="width:80px"></progress> {}%', obj.progress, obj.progress
        )

    @admin.display(description="File")
    def download(self, obj):
        if not obj.file:
            return "-"
        return format_html('<a href="{}">Download</a>', reverse("billing-report-download", args=[obj.pk]))
