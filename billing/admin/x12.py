"""The admin for X12: partner settings and payer ids per practice, a claim's 837P frequency and payer claim
number, posted remittances and their claim payments (the unmatched ones are the exception list), the CARC
and RARC lists. Every list is limited to the user's practices; patient names and member ids are not shown."""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from billing.admin.base import PracticeScopedAdmin
from billing.denials.rule_proposals import accept, reject
from billing.models import (
    AdjustmentCode,
    AdjustmentCodeList,
    ClaimPayment,
    ClaimX12,
    DraftClaim,
    ProposedPayerRule,
    Remittance,
    X12Partner,
    X12PayerId,
    X12Upload,
)
from billing.uploads import reading as uploads
from billing.x12.claims837 import x12_date
from billing.x12.exporting import mark_corrected
from billing.x12.jobs import create_x12_upload, progress
from billing.x12.segments import ISA_LENGTH, NotX12Error, read_delimiters
from config.admin_site import ReadOnlyInline
from practice.selectors import practices_for


@admin.register(X12Partner)
class X12PartnerAdmin(PracticeScopedAdmin):
    list_display = ("practice", "submitter_id", "receiver_id", "usage", "last_control_number")
    readonly_fields = ("last_control_number",)


@admin.register(X12PayerId)
class X12PayerIdAdmin(PracticeScopedAdmin):
    list_display = ("practice", "payer", "identifier", "claim_filing_indicator")
    list_select_related = ("practice", "payer")


class ClaimX12Form(forms.ModelForm):
    """The 837P data of a claim typed in the admin: frequency, REF*F8, and the subscriber (2010BA), which an
    837P needs and the claim format does not carry. Stored on the claim's X12 data only; never logged."""

    member_id = forms.CharField(label="member id (2010BA NM109)", max_length=80, required=False)
    last_name = forms.CharField(max_length=60, required=False)
    first_name = forms.CharField(max_length=35, required=False)
    birth_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(choices=[("F", "F"), ("M", "M"), ("U", "Unknown")], required=False)
    address = forms.CharField(max_length=55, required=False)
    city = forms.CharField(max_length=30, required=False)
    state = forms.CharField(max_length=2, required=False)
    zip_code = forms.RegexField(r"^\d{5}(\d{4})?$", label="ZIP", required=False)
    SUBSCRIBER = ("member_id", "last_name", "first_name", "birth_date", "sex", "address", "city", "state", "zip_code")

    class Meta:
        model = ClaimX12
        fields = ["claim", "frequency", "payer_claim_number"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        person = ((self.instance.data or {}).get("subscriber") or {}).get("person") or {}
        address = {row[0]: row for row in person.get("address") or [] if row}
        dmg = person.get("dmg") or []
        initial = {
            "member_id": person.get("id", ""), "last_name": person.get("last", ""),
            "first_name": person.get("first", ""),
            "birth_date": x12_date(dmg[1]) if len(dmg) > 1 else None, "sex": dmg[2] if len(dmg) > 2 else "",
            "address": (address.get("N3") or ["", ""])[1],
            "city": (address.get("N4") or ["", ""])[1], "state": (address.get("N4") or ["", "", ""])[2],
            "zip_code": (address.get("N4") or ["", "", "", ""])[3],
        }  # fmt: skip
        for name, value in initial.items():
            self.fields[name].initial = value

    def clean(self):
        data = super().clean()
        given = [name for name in self.SUBSCRIBER if data.get(name)]
        if given and not all(data.get(name) for name in ("member_id", "last_name", "first_name")):
            raise forms.ValidationError("The subscriber needs at least the member id, last name and first name.")
        return data

    def save(self, commit=True):
        extra = super().save(commit=False)
        d = self.cleaned_data
        if d.get("member_id"):
            person = {"entity": "IL", "type": "1", "last": d["last_name"], "first": d["first_name"], "middle": "",
                      "suffix": "", "id_qualifier": "MI", "id": d["member_id"]}  # fmt: skip
            if d.get("address") and d.get("city") and d.get("state") and d.get("zip_code"):
                person["address"] = [["N3", d["address"]], ["N4", d["city"], d["state"].upper(), d["zip_code"]]]
            if d.get("birth_date"):
                person["dmg"] = ["D8", d["birth_date"].strftime("%Y%m%d"), d.get("sex") or "U"]
            data = dict(extra.data or {})
            data["subscriber"] = {**(data.get("subscriber") or {}), "person": person}
            extra.data = data
        if commit:
            extra.save()
        return extra


@admin.register(ClaimX12)
class ClaimX12Admin(PracticeScopedAdmin):
    """Frequency 7 (replacement) or 8 (void), the payer's claim number (REF*F8), and the subscriber of a claim
    typed in the admin, before an export."""

    form = ClaimX12Form
    practice_field = "claim__practice"
    list_display = ("claim", "frequency", "payer_claim_number", "exported_control_number")
    readonly_fields = ("source_name", "exported_control_number")
    list_select_related = ("claim__payer",)
    actions = ["replace_selected", "void_selected"]

    def get_fields(self, request, obj=None):
        return ["claim", "frequency", "payer_claim_number", *ClaimX12Form.SUBSCRIBER, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "claim") if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "claim":
            kwargs["queryset"] = DraftClaim.objects.filter(practice__in=practices_for(request.user), x12__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.action(
        description="Correct: replacement (7) with the payer's claim number from the last 835", permissions=["change"]
    )
    def replace_selected(self, request, queryset):
        self._corrected(request, queryset, "7")

    @admin.action(description="Void (8) with the payer's claim number from the last 835", permissions=["change"])
    def void_selected(self, request, queryset):
        self._corrected(request, queryset, "8")

    def _corrected(self, request, queryset, frequency: str) -> None:
        for extra in queryset.select_related("claim"):
            try:
                mark_corrected(extra, frequency)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"{extra.claim}: frequency {frequency}, REF*F8 {extra.payer_claim_number}.")


class ClaimPaymentInline(ReadOnlyInline):
    model = ClaimPayment
    fields = ("claim_ref", "claim", "status", "charge", "paid", "adjustments", "remarks", "payer_claim_number")
    show_change_link = True


@admin.register(Remittance)
class RemittanceAdmin(PracticeScopedAdmin):
    list_display = ("trace_number", "practice", "payer", "paid_total", "paid_on", "payments", "posted_at")
    readonly_fields = [f.name for f in Remittance._meta.fields]
    inlines = [ClaimPaymentInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("no", "Exception list: no claim matched"), ("yes", "Matched to a claim")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(claim__isnull=True)
        if self.value() == "yes":
            return queryset.filter(claim__isnull=False)
        return queryset


@admin.register(ClaimPayment)
class ClaimPaymentAdmin(PracticeScopedAdmin):
    list_display = ("claim_ref", "matched_text", "payer_key", "status", "charge", "paid", "date_of_service", "codes")
    list_filter = (MatchedFilter, "payer_key", "status")
    search_fields = ("claim_ref", "payer_claim_number")
    readonly_fields = [f.name for f in ClaimPayment._meta.fields]
    list_select_related = ("remittance",)

    @admin.display(description="matched", boolean=True)
    def matched_text(self, obj):
        return obj.claim_id is not None

    @admin.display(description="denials (CARC)")
    def codes(self, obj):
        adjustments = [*obj.adjustments, *(a for line in obj.lines for a in line.get("adjustments", []))]
        return " ".join(f"{a['group']}-{a['carc']}" for a in adjustments)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if hasattr(response, "context_data"):
            response.context_data["subtitle"] = format_html(
                '<a href="{}" id="denial-report-link">Denial report</a>', reverse("billing-denial-report")
            )
        return response

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AdjustmentCodeInline(ReadOnlyInline):
    model = AdjustmentCode
    fields = ("code", "summary", "start", "stop", "certainty")


@admin.register(AdjustmentCodeList)
class AdjustmentCodeListAdmin(admin.ModelAdmin):
    list_display = ("kind", "version", "loaded_at")
    readonly_fields = ("kind", "version", "sha256", "loaded_at")
    inlines = [AdjustmentCodeInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProposedPayerRule)
class ProposedPayerRuleAdmin(PracticeScopedAdmin):
    """Rules proposed from denials no rule foresaw: accept (writes the practice's own, audited rule version)
    or reject (not proposed again for the same payer, code and kind)."""

    list_display = ("payer", "code", "meaning", "denials", "status", "rule", "decided_by", "decided_at")
    list_filter = ("status", "payer")
    readonly_fields = [f.name for f in ProposedPayerRule._meta.fields]
    actions = ["accept_selected", "reject_selected"]
    list_select_related = ("payer", "rule", "decided_by")

    @admin.display(description="denials")
    def denials(self, obj):
        return "; ".join(
            f"{e['claim_ref']} {e['date_of_service']} {e['group']}-{e['carc']}" + "".join(f"/{r}" for r in e["rarc"])
            for e in obj.evidence
        )

    def has_add_permission(self, request):
        return False

    @admin.action(description="Accept: write the practice's rule version", permissions=["change"])
    def accept_selected(self, request, queryset):
        for proposal in queryset.filter(status="proposed").select_related("payer", "practice"):
            try:
                rule = accept(proposal, request.user)
            except (ValidationError, ValueError) as exc:  # the rule does not validate: say why, go on
                self.message_user(request, f"{proposal}: not accepted: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{proposal}: rule {rule.key} version {rule.version} written.")

    @admin.action(description="Reject", permissions=["change"])
    def reject_selected(self, request, queryset):
        count = 0
        for proposal in queryset.filter(status="proposed"):
            reject(proposal, request.user)
            count += 1
        self.message_user(request, f"{count} proposal(s) rejected.")


class X12UploadForm(forms.ModelForm):
    """Practice + an 837P or 835 file; a file that does not start with an ISA is refused at once."""

    class Meta:
        model = X12Upload
        fields = ["practice", "file"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > uploads.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is too large: at most {uploads.MAX_UPLOAD_BYTES // 1048576} MB.")
        head = upload.read(ISA_LENGTH + 16).decode("latin-1")
        upload.seek(0)
        try:
            read_delimiters(head)
        except NotX12Error as exc:
            raise forms.ValidationError(f"{exc}: upload an 837P or 835 file.") from exc
        return upload


@admin.register(X12Upload)
class X12UploadAdmin(PracticeScopedAdmin):
    """Upload an 837P (claims: stored as drafts and checked) or an 835 (posted); progress live in the list."""

    form = X12UploadForm
    list_display = ["name", "practice", "kind", "status_text", "progress", "counts_text", "results", "created_at"]
    view_fields = ["name", "practice", "kind", "status_text", "progress", "counts_text", "results", "error",
                   "created_by", "created_at", "started_at", "finished_at"]  # fmt: skip

    class Media:
        js = ["billing/job_progress.js", "billing/x12_progress.js"]

    def get_fields(self, request, obj=None):
        return ["practice", "file"] if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # the upload is created, and its job queued on commit, by the service (never changed: no change permission)
        upload = create_x12_upload(practice=obj.practice, file=form.cleaned_data["file"], user=request.user)
        vars(obj).update(vars(upload))  # the admin goes on (log entry, message, redirect) with the stored upload

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, "The file is imported in the background: the progress shows in the list.")
        return super().response_add(request, obj, post_url_continue)

    @admin.display(description="File")
    def name(self, obj):
        return obj.original_name or PurePath(obj.file.name).name

    @admin.display(description="Status", ordering="status")
    def status_text(self, obj):
        return obj.get_status_display()

    @admin.display(description="Progress")
    def progress(self, obj):
        data = progress(obj)
        return format_html(
            '<div class="x12-progress" data-url="{}" data-status="{}"><div style="width:160px;height:12px;'
            'background:#e0e0e0;border-radius:3px;overflow:hidden"><div class="x12-progress-bar" '
            'style="width:{}%;height:100%;background:#1565c0"></div></div>'
            '<span class="x12-progress-text">{}</span></div>',
            reverse("billing-x12-upload-progress", args=[obj.pk]),
            obj.status,
            data["percent"],
            obj.get_status_display(),
        )

    @admin.display(description="Result")
    def counts_text(self, obj):
        return ", ".join(f"{n:,} {key}" for key, n in sorted((obj.counts or {}).items())) or "-"

    @admin.display(description="Lines")
    def results(self, obj):
        if not obj.result_file:
            return "-"
        return format_html(
            '<a href="{}">Download (JSON lines)</a>', reverse("billing-x12-upload-result", args=[obj.pk])
        )
