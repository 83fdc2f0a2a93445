"""The billing office's admin: draft claims with their lines, one-click checks, findings with their fixes.

Every queryset is limited to the practices the user works for (practice.selectors.practices_for).
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from billing import models as billing_models
from billing.claims import services
from billing.models import (
    CLAIM_FIELDS,
    BatchUpload,
    ClaimCheck,
    ClaimLine,
    ClaimNote,
    ClaimStatus,
    DraftClaim,
    Finding,
    JobStatus,
)
from billing.uploads import jobs as upload_jobs
from billing.uploads import reading as uploads
from config.admin_filters import ScopedListFiltersMixin
from config.admin_site import ReadOnlyInline
from config.background import in_background
from config.bad_input import clean_storable_text
from config.jobs import send
from practice.models import Payer, PracticePayer
from practice.selectors import practices_for

STALE_VERSION = (
    "Someone else saved this claim (now version {current}) after you opened it (version {read}). Your changes "
    "were not saved: open the claim again to see theirs, then make your change again."
)


class ConcurrentEditError(Exception):
    """A save lost the race between the form's version check and the write (non-locking databases only)."""


SEVERITY_COLOURS = {
    "error": "#c62828",
    "warning": "#ef6c00",
    "info": "#1565c0",
    "clean": "#2e7d32",
    "ready": "#2e7d32",
    "draft": "#555",
}


def _split_codes(value: str) -> list[str]:
    return [v for v in re.split(r"[\s,;]+", (value or "").strip()) if v]


class CodeListField(forms.CharField):
    """A list typed as text: 'M48.062, Z00.6' <-> ['M48.062', 'Z00.6']."""

    def __init__(self, *, max_items: int, item_kind=str, **kwargs):
        self.max_items, self.item_kind = max_items, item_kind
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        items = _split_codes(clean_storable_text(super().to_python(value)))
        if len(items) > self.max_items:
            raise forms.ValidationError(f"at most {self.max_items} (got {len(items)})")
        if self.item_kind is int:
            try:
                return [int(x) for x in items]
            except ValueError:
                raise forms.ValidationError("numbers only, e.g. 1, 2") from None
        return [x.upper() for x in items]

    def has_changed(self, initial, data):
        """Compare as lists: an empty extra line's initial is None/"" and its data cleans to [], which is no change
        (without this the admin treats the blank extra inline as filled in and requires its number and code)."""
        if self.disabled:
            return False
        try:
            before = list(initial) if isinstance(initial, list | tuple) else self.to_python(initial)
            return before != self.to_python(data)
        except forms.ValidationError:
            return True


class ClaimLineForm(forms.ModelForm):
    modifiers = CodeListField(max_items=4, help_text="Up to 4, e.g. Q0 59")
    diagnosis_pointers = CodeListField(max_items=4, item_kind=int, help_text="e.g. 1, 2")

    class Meta:
        model = ClaimLine
        fields = ["number", "code", "modifiers", "units", "diagnosis_pointers", "charge", "date_of_service"]

    def clean_code(self):
        return self.cleaned_data["code"].replace(" ", "").upper()


class ClaimLineInline(admin.TabularInline):
    model = ClaimLine
    form = ClaimLineForm
    extra = 1
    max_num = 50


class DraftClaimForm(forms.ModelForm):
    diagnoses = CodeListField(
        max_items=12, help_text="Up to 12 ICD-10-CM codes, the primary first, e.g. M48.062, Z00.6"
    )
    condition_codes = CodeListField(max_items=24, help_text="Institutional claims, e.g. 30")
    # Optimistic locking: the version the form was opened on, sent back hidden; a save over a newer version is
    # refused with a form error (never a 500, never a silent overwrite). Internal: never shown.
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # Kept as claim notes (who, when) when the claim is saved: a note, and an override of a finding with its reason.
    note = forms.CharField(
        label="Add a note", required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), max_length=2000
    )
    override_rule = forms.ChoiceField(
        label="Override a finding", required=False, help_text="A finding of the latest check you accept as it is."
    )
    override_reason = forms.CharField(
        label="Reason for the override",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Kept as a claim note with your name and the time; the check report counts overrides.",
    )
    NOTE_FIELDS = ("note", "override_rule", "override_reason", "expected_version", "assigned_to")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "-")]
        if self.instance.pk is not None:
            self.fields["expected_version"].initial = self.instance.version
            check = self.instance.checks.order_by("-id").first()
            seen = set()
            for f in check.result.get("findings", []) if check else []:
                if f.get("severity") in ("error", "warning") and f["rule"] not in seen:
                    seen.add(f["rule"])
                    choices.append((f["rule"], f"{f['rule']} ({f['severity']})"))
        self.fields["override_rule"].choices = choices
        if "assigned_to" in self.fields and self.instance.pk is not None:
            # the admin offers the staff of the user's practices; a saved claim, its own practice's only
            field = self.fields["assigned_to"]
            field.queryset = field.queryset.filter(practice_memberships__practice_id=self.instance.practice_id)

    def claim_changed(self) -> bool:
        """A change to the claim itself (a note, an override, the assignee or the hidden version is not one)."""
        return any(name not in self.NOTE_FIELDS for name in self.changed_data)

    def clean(self):
        cleaned = super().clean()
        practice, payer = cleaned.get("practice"), cleaned.get("payer")
        if (
            practice is not None
            and payer is not None
            and not PracticePayer.objects.filter(practice=practice, payer=payer).exists()
        ):
            self.add_error("payer", f"{practice} does not bill {payer}: choose one of the practice's payers.")
        if self.instance.pk is not None:
            read = cleaned.get("expected_version")
            # Locks the row until the admin's transaction ends (PostgreSQL): a concurrent save waits, then sees
            # the new version and is refused here.
            rows = DraftClaim.objects.filter(pk=self.instance.pk)
            if transaction.get_connection(rows.db).in_atomic_block:
                rows = rows.select_for_update()
            current = rows.values_list("version", flat=True).first()
            if read is None or current != read:
                raise forms.ValidationError(STALE_VERSION.format(current=current, read=read), code="stale_version")
        if cleaned.get("override_rule") and not (cleaned.get("override_reason") or "").strip():
            self.add_error("override_reason", "Say why the finding is overridden: the reason is kept with the claim.")
        return cleaned

    class Meta:
        model = DraftClaim
        fields = ["practice", *CLAIM_FIELDS, "assigned_to"]


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


class PracticeScopedAdmin(ScopedListFiltersMixin, admin.ModelAdmin):
    """Only the practices the user works for: lists, objects, the practice choices on forms, and the choices of
    the list's filters (a rule id or payer found only in another practice's rows is never listed)."""

    practice_field = "practice"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(**{f"{self.practice_field}__in": practices_for(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "practice":
            kwargs["queryset"] = practices_for(request.user)
            first = kwargs["queryset"].first()
            if first is not None and kwargs["queryset"].count() == 1:
                kwargs["initial"] = first.pk
        elif db_field.name == "payer" and db_field.related_model is Payer:
            # Only payers the user's practices bill (the form's clean() checks the claim's own practice).
            kwargs["queryset"] = Payer.objects.filter(
                practice_payers__practice__in=practices_for(request.user)
            ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(DraftClaim)
class DraftClaimAdmin(PracticeScopedAdmin):
    form = DraftClaimForm
    inlines = [ClaimLineInline]
    # Short columns, so codes and status stay on screen at 1,400 px beside the filters.
    list_display = [
        "claim_name",
        "payer_key",
        "dos",
        "pos",
        "codes",
        "status_badge",
        "assigned_to",
        "checked",
    ]
    list_display_links = ["claim_name"]
    list_filter = ["status", "payer", LatestRuleFilter, "assigned_to", "date_of_service"]
    search_fields = ["reference", "lines__code", "clinical_trial_number"]
    date_hierarchy = "date_of_service"
    actions = ["check_selected", "mark_ready"]
    readonly_fields = ["status_badge", "findings_panel", "notes_panel"]
    fieldsets = [
        (None, {"fields": ["status_badge", "findings_panel", "expected_version"]}),
        (
            "Claim",
            {
                "fields": [
                    "practice",
                    "reference",
                    "payer",
                    "claim_type",
                    "place_of_service",
                    "date_of_service",
                    "submitted_on",
                    "rendering_npi",
                ]
            },
        ),
        (
            "Diagnoses and trial",
            {"fields": ["diagnoses", "clinical_trial_number", "prior_authorization_number", "condition_codes"]},
        ),
        ("Work", {"fields": ["assigned_to", "notes_panel", "note", "override_rule", "override_reason"]}),
    ]
    change_form_template = "admin/billing/draftclaim/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("payer").prefetch_related("lines")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "assigned_to":  # staff of the user's practices only (never another practice's names)
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(is_active=True, practice_memberships__practice__in=practices_for(request.user))
                .order_by("username")
                .distinct()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    class Media:
        js = ["billing/date_fields.js"]

    @admin.display(description="Claim", ordering="reference")
    def claim_name(self, obj):
        return obj.reference or f"#{obj.pk}"

    @admin.display(description="Payer", ordering="payer__key")
    def payer_key(self, obj):
        return obj.payer.key

    @admin.display(description="DOS", ordering="date_of_service")
    def dos(self, obj):
        return obj.date_of_service.isoformat()

    @admin.display(description="POS", ordering="place_of_service")
    def pos(self, obj):
        return obj.place_of_service

    @admin.display(description="Checked", ordering="last_checked_at")
    def checked(self, obj):
        if obj.last_checked_at is None:
            return "-"
        return timezone.localtime(obj.last_checked_at).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="Codes")
    def codes(self, obj):
        return ", ".join(line.code + "".join(f"-{m}" for m in line.modifiers or []) for line in obj.lines.all())

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        if obj.pk is None:
            return "-"
        return format_html(
            '<b style="color:{}">{}</b>', SEVERITY_COLOURS.get(obj.status, "#555"), obj.get_status_display()
        )

    @admin.display(description="Findings of the latest check")
    def findings_panel(self, obj):
        if obj.pk is None:
            return "Save the claim, then press Check."
        check = obj.checks.order_by("-checked_at", "-id").first()
        if check is None:
            return "Not checked yet: press Check."
        return findings_html(check, services.overrides_of(obj))

    @admin.display(description="Notes")
    def notes_panel(self, obj):
        if obj.pk is None:
            return "-"
        notes = obj.notes.select_related("author").order_by("-created_at", "-id")
        return mark_safe(  # noqa: S308 (the template escapes every value)
            render_to_string("admin/billing/notes.html", {"notes": notes})
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        else:
            # The form refused a stale version; this compare-and-set closes the gap between its check and this
            # write where the database does not lock rows (SQLite).
            read = form.cleaned_data["expected_version"]
            if not DraftClaim.objects.filter(pk=obj.pk, version=read).update(version=F("version") + 1):
                raise ConcurrentEditError
            obj.version = read + 1
        if not change or form.claim_changed():
            obj.status, obj.edited_at, obj.ready_at, obj.ready_by = ClaimStatus.DRAFT, timezone.now(), None, None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        claim = form.instance
        if change and any(formset.has_changed() for formset in formsets):  # a line added, changed or deleted
            now = timezone.now()
            DraftClaim.objects.filter(pk=claim.pk).update(
                status=ClaimStatus.DRAFT, edited_at=now, ready_at=None, ready_by=None
            )
            claim.status, claim.edited_at = ClaimStatus.DRAFT, now
        data = form.cleaned_data
        if (data.get("note") or "").strip():
            ClaimNote.objects.create(claim=claim, text=data["note"].strip(), author=request.user)
        if data.get("override_rule"):
            services.override_finding(claim, data["override_rule"], data["override_reason"], user=request.user)

    def response_change(self, request, obj):
        if "_check" in request.POST:  # "Check this claim": the edits are saved first, then checked
            self._check_and_say(request, obj)
            return HttpResponseRedirect(reverse("admin:billing_draftclaim_change", args=[obj.pk]))
        return super().response_change(request, obj)

    def _check_and_say(self, request, claim):
        if not request.user.has_perm("billing.check_claim"):
            raise PermissionDenied("You may not check claims.")
        claim = self.get_queryset(request).get(pk=claim.pk)
        check = services.check_drafts([claim], user=request.user)[0]
        level = messages.SUCCESS if check.status == "clean" else messages.WARNING
        messages.add_message(request, level, f"Checked: {check.status} ({_count(check.result)}).")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ConcurrentEditError:
            # The admin's transaction rolled the whole save back (claim and lines): say so, show the claim again.
            messages.error(request, STALE_VERSION.format(current="newer", read="older"))
            return HttpResponseRedirect(request.get_full_path())

    def _base_urls(self):
        return [
            path("<int:pk>/check/", self.admin_site.admin_view(self.check_view), name="billing_draftclaim_check"),
            *super().get_urls(),
        ]

    def check_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:billing_draftclaim_change", args=[pk]))
        if not request.user.has_perm("billing.check_claim"):
            raise PermissionDenied("You may not check claims.")
        claim = get_object_or_404(self.get_queryset(request), pk=pk)
        self._check_and_say(request, claim)
        return HttpResponseRedirect(reverse("admin:billing_draftclaim_change", args=[pk]))

    @admin.action(description="Check the selected claims", permissions=["check"])
    def check_selected(self, request, queryset):
        checks = services.check_drafts(queryset.select_related("payer").prefetch_related("lines"), user=request.user)
        by_status: dict[str, int] = {}
        for c in checks:
            by_status[c.status] = by_status.get(c.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "nothing"
        self.message_user(request, f"Checked {len(checks)} claim(s): {summary}.")

    @admin.action(
        description="Mark the selected claims ready to send (validated, or with your reason)", permissions=["change"]
    )
    def mark_ready(self, request, queryset):
        """Validated claims are marked at once. If some are not validated the user is asked, on a page listing
        them with why, for an override reason (kept as a claim note on each) or to mark only the validated ones."""
        claims = list(queryset.select_related("payer"))
        reason = (request.POST.get("override_reason") or "").strip()
        problems = services.not_ready([c for c in claims if c.status != ClaimStatus.READY])
        blocked = [(c, problems[c.pk]) for c in claims if problems.get(c.pk)]
        if blocked and not reason and "validated_only" not in request.POST:
            if "confirm" in request.POST:
                self.message_user(request, "Give a reason to mark claims that are not validated.", messages.ERROR)
            return TemplateResponse(
                request,
                "admin/billing/draftclaim/mark_ready.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Mark claims ready to send",
                    "opts": self.model._meta,
                    "claims": claims,
                    "blocked": blocked,
                    "validated": len(claims) - len(blocked),
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                },
            )
        outcome = services.mark_ready(claims, user=request.user, reason=reason)
        level = messages.SUCCESS if not sum(outcome.skipped.values()) else messages.WARNING
        self.message_user(request, outcome.message(), level)
        return None

    def get_urls(self):
        return [
            path("queue/", self.admin_site.admin_view(self.queue_view), name="billing_draftclaim_queue"),
            *self._base_urls(),
        ]

    def queue_view(self, request):
        """The work queue: claims needing attention (not checked, errors, warnings, changed since checked), by
        assignee, oldest first, with their latest note."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        from billing.claims import queue

        claims = list(
            self.get_queryset(request)
            .exclude(status=ClaimStatus.READY)
            .select_related("assigned_to", "payer")
            .order_by("created_at", "id")
        )
        problems = services.not_ready(claims)
        notes = services.latest_notes([c.pk for c in claims])
        groups = queue.by_assignee(claims, problems, notes, timezone.localdate())
        return TemplateResponse(
            request,
            "admin/billing/draftclaim/queue.html",
            {
                **self.admin_site.each_context(request),
                "title": "Work queue: claims needing attention",
                "opts": self.model._meta,
                "groups": groups,
                "total": sum(len(g.items) for g in groups),
            },
        )

    def has_check_permission(self, request):
        return request.user.has_perm("billing.check_claim")


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
        "name",
        "practice",
        "status_badge",
        "progress",
        "counts_text",
        "results",
        "error",
        "chunks_text",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
    ]

    class Media:
        js = ["billing/upload_progress.js"]

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
        if not change:
            obj.original_name = PurePath(form.cleaned_data["file"].name).name[:255]
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            from billing import tasks

            # after the commit, so a worker finds the row. With no Redis it runs in-process in a thread after the
            # response (config.background), so the progress bar moves on the embedded default too. The broker
            # down: the upload stays queued for the sweeper and the page answers 503 (config.jobs, config.outage).
            transaction.on_commit(
                partial(
                    in_background, send, tasks.start_upload, obj.pk, what=f"upload {obj.pk}", label=f"upload {obj.pk}"
                )
            )

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
