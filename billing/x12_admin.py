"""The admin for X12: partner settings and payer ids per practice, a claim's 837P frequency and payer claim
number, posted remittances and their claim payments (the unmatched ones are the exception list), the CARC
and RARC lists. Every list is limited to the user's practices; patient names and member ids are not shown."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from billing.admin import PracticeScopedAdmin
from billing.models import (
    AdjustmentCode,
    AdjustmentCodeList,
    ClaimPayment,
    ClaimX12,
    ProposedPayerRule,
    Remittance,
    X12Partner,
    X12PayerId,
)
from billing.rule_proposals import accept, reject


@admin.register(X12Partner)
class X12PartnerAdmin(PracticeScopedAdmin):
    list_display = ("practice", "submitter_id", "receiver_id", "usage", "last_control_number")
    readonly_fields = ("last_control_number",)


@admin.register(X12PayerId)
class X12PayerIdAdmin(PracticeScopedAdmin):
    list_display = ("practice", "payer", "identifier", "claim_filing_indicator")
    list_select_related = ("practice", "payer")


@admin.register(ClaimX12)
class ClaimX12Admin(PracticeScopedAdmin):
    """Frequency 7 (replacement) or 8 (void) and the payer's claim number (REF*F8) before an export."""

    practice_field = "claim__practice"
    list_display = ("claim", "frequency", "payer_claim_number", "exported_control_number")
    fields = ("claim", "frequency", "payer_claim_number", "source_name", "exported_control_number")
    readonly_fields = ("claim", "source_name", "exported_control_number")
    list_select_related = ("claim__payer",)

    def has_add_permission(self, request):
        return False


class ClaimPaymentInline(admin.TabularInline):
    model = ClaimPayment
    fields = ("claim_ref", "claim", "status", "charge", "paid", "adjustments", "remarks", "payer_claim_number")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


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


class AdjustmentCodeInline(admin.TabularInline):
    model = AdjustmentCode
    fields = ("code", "summary", "start", "stop", "certainty")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


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
