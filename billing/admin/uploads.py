"""Batch uploads in the admin: the form (header checked at once), the list with progress, the results."""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from billing.admin.base import PracticeScopedAdmin
from billing.models import (
    BatchUpload,
    JobStatus,
)
from billing.uploads import jobs as upload_jobs
from billing.uploads import reading as uploads
from billing.uploads.services import create_upload

# ---- batch uploads -------------------------------------------------------------------------------------------

JOB_COLOURS = {"queued": "#555", "running": "#1565c0", "done": "#2e7d32", "failed": "#c62828"}


class BatchUploadForm(forms.ModelForm):
    """Practice + file. The file's header is read at once, so a missing column is said before anything runs."""

    class Meta:
        model = BatchUpload
        fields = ["practice", "file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "file" in self.fields:
            self.fields["file"].help_text = format_html(
                "The practice-management export as CSV or Excel (.xlsx), one row per service line; rows with the "
                'same claim_ref are one claim. <a href="{}">Download the CSV template</a> with every column.',
                reverse("admin:billing_batchupload_template"),
            )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > uploads.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1048576:.0f} MB; at most {uploads.MAX_UPLOAD_BYTES // 1048576} MB at a "
                "time: split it into several uploads."
            )
        try:
            uploads.check_header(upload, upload.name, upload_jobs.limits())
        except uploads.UploadError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return upload

    def clean(self):
        user = getattr(self, "user", None)
        limit = settings.UPLOADS_PER_HOUR
        if user is not None and limit:
            since = timezone.now() - timedelta(hours=1)
            recent = BatchUpload.objects.filter(created_by=user, created_at__gte=since).order_by("created_at")
            count = recent.count()
            if count >= limit:
                free_at = recent.first().created_at + timedelta(hours=1)
                wait = max(1, int((free_at - timezone.now()).total_seconds() // 60))
                raise forms.ValidationError(
                    f"You added {count} uploads in the last hour, the most one person may (setting UPLOADS_PER_HOUR): "
                    f"try again in {wait} minute{'s' if wait != 1 else ''}, or put the claims in one file."
                )
        return super().clean()


@admin.register(BatchUpload)
class BatchUploadAdmin(PracticeScopedAdmin):
    """Upload a file of claims; watch its progress live in the list; download the results workbook."""

    form = BatchUploadForm
    list_display = [
        "name",
        "practice",
        "status_badge",
        "progress",
        "counts_text",
        "results",
        "created_by",
        "created_at",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "created_at"]
    search_fields = ["original_name"]
    view_fields = [
        *list_display[:6],
        "error",
        "chunks_text",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    class Media:
        js = ["billing/job_progress.js", "billing/upload_progress.js"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("practice", "created_by")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})  # the form counts the user's recent uploads

    def get_fields(self, request, obj=None):
        return ["practice", "file"] if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        return False  # an upload is a record of what was checked: view it, or upload again

    def has_delete_permission(self, request, obj=None):
        return False  # and part of the audit trail (who uploaded what, when)

    def get_urls(self):
        return [
            path(
                "template.csv",
                self.admin_site.admin_view(self.template_view),
                name="billing_batchupload_template",
            ),
            *super().get_urls(),
        ]

    def template_view(self, request):
        if not (self.has_add_permission(request) or self.has_view_permission(request)):
            raise PermissionDenied
        response = HttpResponse(uploads.template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="claims-upload-template.csv"'
        return response

    def save_model(self, request, obj, form, change):
        # the upload is created, and its job queued on commit, by the service (never changed: no change permission)
        upload = create_upload(practice=obj.practice, file=form.cleaned_data["file"], user=request.user)
        vars(obj).update(vars(upload))  # the admin goes on (log entry, message, redirect) with the stored upload

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, "The claims are checked in the background: the progress shows in the list.")
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="File", ordering="original_name")
    def name(self, obj):
        return obj.original_name or PurePath(obj.file.name).name

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<b class="upload-status" data-upload="{}" style="color:{}">{}</b>',
            obj.pk,
            JOB_COLOURS.get(obj.status, "#555"),
            obj.get_status_display(),
        )

    @admin.display(description="Progress")
    def progress(self, obj):
        return format_html(
            '<div class="upload-progress" data-url="{}" data-status="{}" data-upload="{}">'
            '<div style="width:160px;height:12px;background:#e0e0e0;border-radius:3px;overflow:hidden">'
            '<div class="upload-progress-bar" style="width:{}%;height:100%;background:{}"></div></div>'
            '<span class="upload-progress-text">{}</span></div>',
            reverse("billing-upload-progress", args=[obj.pk]),
            obj.status,
            obj.pk,
            obj.percent if obj.status != JobStatus.DONE else 100,
            JOB_COLOURS.get(obj.status, "#555"),
            progress_text(obj.status, obj.percent, obj.done_claims, obj.total_claims),
        )

    @admin.display(description="Claims")
    def counts_text(self, obj):
        return counts_text(obj.counts) or "-"

    @admin.display(description="Results")
    def results(self, obj):
        if not obj.result_file:
            return "-"
        checks = reverse("admin:billing_claimcheck_changelist") + f"?upload__id__exact={obj.pk}"
        return format_html(
            '<a href="{}">Download (xlsx)</a> · <a href="{}">checks</a>',
            reverse("billing-upload-result", args=[obj.pk]),
            checks,
        )

    @admin.display(description="Chunks")
    def chunks_text(self, obj):
        runs = obj.chunk_runs or {}
        workers = sorted({run.get("worker", "?") for run in runs.values()})
        text = f"{obj.chunks_done} of {obj.chunks_total} done"
        if workers:
            text += f", by {', '.join(workers)}"
        return text


def progress_text(status: str, percent: int, done: int, total: int) -> str:
    if status == JobStatus.QUEUED:
        return "waiting to start"
    if status == JobStatus.FAILED:
        return f"stopped after {done:,} of {total:,} claims" if total else "stopped"
    if status == JobStatus.DONE:
        return f"{total:,} claims checked"
    return f"{percent}% ({done:,} of {total:,} claims)"


def counts_text(counts: dict | None) -> str:
    order = [("error", "with errors"), ("warning", "with warnings"), ("clean", "clean")]
    return ", ".join(f"{counts[key]:,} {label}" for key, label in order if (counts or {}).get(key))
