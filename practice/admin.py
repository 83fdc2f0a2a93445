"""Admin for practices, payers, procedure profiles and payer rules.

Built for two people (../shared/domain/workflows.md): billing staff who need "the Medicare rule for 0275T" (search
by code and payer, filters by payer, coverage, certainty and in force today, the rule in billing-office words),
and the code-set administrator who, when a payer publishes a new policy, adds a new version of its rule from the
policy's effective date ("New version from date…") while the old version stays for older dates of service.

Every change to a payer or a rule asks why; the reason, the user and the old values are in its history. A
superseded version's rule fields are read-only, and the history cannot be reverted over a version.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from simple_history.admin import SimpleHistoryAdmin

from config.admin_filters import ScopedListFiltersMixin
from config.admin_site import ReadOnlyInline
from config.bad_input import clean_storable_text
from practice import policy, services
from practice.models import (
    Location,
    Payer,
    PayerRule,
    Practice,
    PracticeMembership,
    PracticePayer,
    ProcedureProfile,
    ProfileCode,
    Provider,
)
from practice.selectors import practices_for
from practice.validators import dotted

# -- form fields for the rule's lists -----------------------------------------------------------------------


class CodeListField(forms.CharField):
    """A list of codes typed as "0275T, G0276" (commas, semicolons or spaces)."""

    def __init__(self, *args, dots: bool = False, **kwargs):
        self.dots = dots
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(dotted(v) if self.dots else v for v in value)
        return value

    def to_python(self, value):
        value = clean_storable_text(super().to_python(value))
        return [part for part in value.replace(";", ",").replace(",", " ").split() if part]


class DiagnosisRequirementsField(forms.CharField):
    """One requirement a line: ``position: code, code`` with an optional ``[certainty]``, e.g.
    ``secondary: Z00.6`` or ``primary: M48.062 [likely]``. Any one code of a line satisfies it."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "One requirement a line, “position: codes” (any one of the codes will do), optionally [likely] or "
            f"[unverified]. Positions: {', '.join(policy.POSITIONS)}. E.g. “secondary: Z00.6”.",
        )
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            lines = []
            for item in value:
                line = f"{item.get('position', policy.POSITION_ANY)}: {', '.join(dotted(c) for c in item['codes'])}"
                if item.get("certainty", "sure") != "sure":
                    line += f" [{item['certainty']}]"
                lines.append(line)
            return "\n".join(lines)
        return value

    def to_python(self, value):
        value = clean_storable_text(super().to_python(value))
        out = []
        for number, line in enumerate(value.splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            certainty = "sure"
            if line.endswith("]") and "[" in line:
                line, _, certainty = line[:-1].rpartition("[")
                certainty = certainty.strip().lower()
            position, sep, codes = line.partition(":")
            if not sep:
                raise ValidationError(f"Line {number}: write “position: codes”, e.g. “secondary: Z00.6”.")
            out.append(
                {
                    "codes": [c for c in codes.replace(",", " ").split() if c],
                    "position": position.strip().lower(),
                    "certainty": certainty,
                }
            )
        return out


REASON_HELP = "Why (the policy change, the correction): kept in the history with your name."


def _formfield(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class PayerRuleForm(forms.ModelForm):
    codes = CodeListField(required=True, label="Procedure codes", help_text="The codes the rule applies to: 0275T")
    required_modifiers = CodeListField(help_text="E.g. Q0 on a Medicare CED service.")
    required_diagnoses = DiagnosisRequirementsField()
    approved_trials = CodeListField(help_text="ClinicalTrials.gov numbers of approved studies: NCT + 8 digits.")
    allowed_places_of_service = CodeListField(label="Allowed places of service", help_text="Empty: any. E.g. 22, 24")
    states = CodeListField(label="Only in states", help_text="Empty: every state. E.g. AZ, NJ, OH, OK, TX, WA (WISeR)")
    macs = CodeListField(
        label="Only in MAC contractors' jurisdictions",
        help_text="Contractor numbers (an LCD's), e.g. 04412. Empty: all.",
    )
    change_reason = forms.CharField(label="Reason for this change", max_length=200, help_text=REASON_HELP)

    class Meta:
        model = PayerRule
        fields = list(PayerRule.RULE_FIELDS)
        formfield_callback = _formfield


class PayerForm(forms.ModelForm):
    change_reason = forms.CharField(label="Reason for this change", max_length=200, help_text=REASON_HELP)

    class Meta:
        model = Payer
        fields = ["key", "name", "payer_type", "filing_limit_days", "filing_limit_note", "medicare_contractor", "notes"]


class NewVersionForm(forms.Form):
    start = forms.DateField(
        label="New version in force from",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The policy's effective date. The current version ends the day before.",
    )
    reason = forms.CharField(label="Reason", max_length=200, help_text="E.g. “BCBSA 7.01.126 revised 2026-07-01”.")


# -- filters ----------------------------------------------------------------------------------------------


class InForceFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("today", "In force today"), ("past", "Ended (older dates of service)"), ("future", "Not yet")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "today":
            return queryset.in_force(today)
        if self.value() == "past":
            return queryset.filter(effective_to__lt=today)
        if self.value() == "future":
            return queryset.filter(effective_from__gt=today)
        return queryset


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("global", "Shipped (all practices)"), ("practice", "A practice's own override")]

    def queryset(self, request, queryset):
        if self.value() == "global":
            return queryset.filter(practice__isnull=True)
        if self.value() == "practice":
            return queryset.filter(practice__isnull=False)
        return queryset


# -- payer rules ------------------------------------------------------------------------------------------


@admin.register(PayerRule)
class PayerRuleAdmin(ScopedListFiltersMixin, SimpleHistoryAdmin):
    form = PayerRuleForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    change_form_template = "admin/practice/payerrule/change_form.html"
    list_display = (
        "name",
        "payer",
        "scope",
        "codes_display",
        "coverage",
        "version",
        "effective_from",
        "effective_to",
        "in_force",
        "certainty",
        "source",
    )
    list_display_links = ("name",)
    list_filter = ("payer", "coverage", "certainty", InForceFilter, ScopeFilter)
    search_fields = ("codes", "payer__key", "payer__name", "name", "key", "reference")
    search_help_text = "A code (0275T), a payer (medicare), a policy (150.13) — several words narrow it down."
    list_select_related = ("payer", "practice")
    ordering = ("payer__name", "key", "-effective_from")
    actions = ["new_version_action"]
    history_list_display = ["effective_from", "effective_to", "coverage"]
    readonly_fields = ("code_check_notes", "other_versions")
    fieldsets = (
        ("Which rule", {"fields": ("payer", "practice", "name", "key", "version", "effective_from", "effective_to")}),
        ("What it says", {"fields": ("codes", "coverage", "certainty", "not_covered_advice")}),
        (
            "What a claim must carry",
            {"fields": PayerRule.CLAIM_REQUIREMENT_FIELDS},
        ),
        ("Where and how often", {"fields": ("states", "macs", "frequency_limit")}),
        ("Source", {"fields": ("reference", "reference_url", "notes", "code_check_notes")}),
        ("Versions", {"fields": ("other_versions",)}),
        ("Why", {"fields": ("change_reason",)}),
    )

    # list columns
    @admin.display(description="scope", ordering="practice__name")
    def scope(self, obj):
        return obj.practice.name if obj.practice_id else "all practices"

    @admin.display(description="codes")
    def codes_display(self, obj):
        return ", ".join(obj.codes)

    @admin.display(description="source", ordering="reference")
    def source(self, obj):
        return obj.reference or "-"

    @admin.display(description="in force today", boolean=True)
    def in_force(self, obj):
        return obj.in_force_today

    @admin.display(description="versions of this rule")
    def other_versions(self, obj):
        if not obj.pk:
            return "-"
        rows = [
            (
                reverse("admin:practice_payerrule_change", args=[v.pk]),
                v.version,
                v.effective_from,
                v.effective_to or "open",
                " (this one)" if v.pk == obj.pk else "",
            )
            for v in obj.series().order_by("effective_from")
        ]
        return format_html_join(mark_safe("<br>"), '<a href="{}">version {}</a>: {} to {}{}', rows)

    # scope: staff see the shipped rules and their own practices' overrides
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(Q(practice__isnull=True) | Q(practice__in=practices_for(request.user)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "practice":
            kwargs["queryset"] = practices_for(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["payer", "practice", "key", "version"]  # a version's identity stays put
            if obj.is_superseded:
                fields += [f for f in PayerRule.RULE_FIELDS if f not in fields and f != "notes"]
        return fields

    def has_delete_permission(self, request, obj=None):
        """A superseded version still answers for older dates of service: it is never deleted."""
        if obj is not None and obj.is_superseded:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one version at a time, through the checks above
        return actions

    def save_model(self, request, obj, form, change):
        services.save_rule(obj, reason=form.cleaned_data["change_reason"], user=request.user)

    # history: viewing only (a version is never rewritten from its past; start a new version instead)
    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("History is read-only: start a new version instead.")
        # simple_history reads a version straight from the history table: keep another practice's override out.
        try:
            object_id, version_id = str(int(object_id)), int(version_id)
        except ValueError:
            raise Http404("no such version") from None
        if (
            not self.get_history_queryset(request, PayerRule.history, "id", object_id)
            .filter(history_id=version_id)
            .exists()
        ):
            raise Http404("no such version")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        """Only the history of rules the user may see: simple_history falls back to the history table for rows
        the admin's queryset hides, which would show another practice's override to its staff."""
        qs = super().get_history_queryset(request, history_manager, pk_name, object_id)
        if request.user.is_superuser:
            return qs
        return qs.filter(Q(practice__isnull=True) | Q(practice_id__in=practices_for(request.user).values("pk")))

    # new version from a date
    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/new-version/",
                self.admin_site.admin_view(self.new_version_view),
                name="practice_payerrule_new_version",
            )
        ]
        return custom + super().get_urls()

    def new_version_view(self, request, object_id):
        rule = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, rule) or not self.has_add_permission(request):
            raise PermissionDenied
        form = NewVersionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                new = services.new_version_from(
                    rule, form.cleaned_data["start"], reason=form.cleaned_data["reason"], user=request.user
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error("start" if field in ("start", "effective_from", "effective_to") else None, errors)
            else:
                self.message_user(
                    request,
                    f"Version {new.version} created from {new.effective_from}; version {rule.version} now ends on "
                    f"{new.effective_from - timedelta(days=1)}. Edit the new version below.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:practice_payerrule_change", args=[new.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"New version of “{rule.name}” from a date",
            "opts": self.model._meta,
            "original": rule,
            "form": form,
            "versions": rule.series().order_by("effective_from"),
        }
        return TemplateResponse(request, "admin/practice/payerrule/new_version.html", context)

    @admin.action(description="New version from a date… (one rule)")
    def new_version_action(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one rule version.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:practice_payerrule_new_version", args=[queryset.get().pk]))


# -- payers -----------------------------------------------------------------------------------------------


class PayerRuleInline(ReadOnlyInline):
    model = PayerRule
    fields = ("name", "codes_display", "coverage", "version", "effective_from", "effective_to", "certainty", "practice")
    show_change_link = True
    verbose_name_plural = "rules (edit each in Payer rules, with a reason)"

    @admin.display(description="codes")
    def codes_display(self, obj):
        return ", ".join(obj.codes)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(Q(practice__isnull=True) | Q(practice__in=practices_for(request.user)))


@admin.register(Payer)
class PayerAdmin(SimpleHistoryAdmin):
    form = PayerForm
    list_display = ("name", "key", "payer_type", "filing_limit_days", "medicare_contractor")
    list_filter = ("payer_type",)
    search_fields = ("key", "name")
    inlines = [PayerRuleInline]
    history_list_display = ["filing_limit_days"]

    def get_readonly_fields(self, request, obj=None):
        return ("key",) if obj else ()

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data["change_reason"]
        super().save_model(request, obj, form, change)


# -- practices --------------------------------------------------------------------------------------------


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0
    fields = ("key", "name", "is_main", "zip_code", "place_of_service", "mac", "locality", "state")


class ProviderInline(admin.TabularInline):
    model = Provider
    extra = 0


class PracticePayerInline(admin.TabularInline):
    model = PracticePayer
    extra = 0
    verbose_name_plural = "payers this practice bills"


class MembershipInline(admin.TabularInline):
    model = PracticeMembership
    extra = 0
    autocomplete_fields = ("user",)
    verbose_name_plural = "staff (see only this practice's data)"


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "npi", "time_zone", "locations_display", "payers_display")
    search_fields = ("name", "key", "npi")
    inlines = [LocationInline, ProviderInline, PracticePayerInline, MembershipInline]

    def get_queryset(self, request):
        qs = super().get_queryset(request).prefetch_related("locations", "practice_payers__payer")
        return qs.filter(pk__in=practices_for(request.user).values("pk"))

    @admin.display(description="locations")
    def locations_display(self, obj):
        return "; ".join(str(loc) for loc in obj.locations.all())

    @admin.display(description="payers")
    def payers_display(self, obj):
        return ", ".join(pp.payer.key for pp in obj.practice_payers.all())


# -- procedure profiles -----------------------------------------------------------------------------------


class ProfileCodeInline(admin.TabularInline):
    model = ProfileCode
    extra = 0
    fields = ("position", "system", "code", "role", "summary", "notes", "certainty", "source")


@admin.register(ProcedureProfile)
class ProcedureProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "primary_codes")
    search_fields = ("name", "key", "codes__code")
    inlines = [ProfileCodeInline]

    @admin.display(description="primary codes")
    def primary_codes(self, obj):
        return ", ".join(c.code for c in obj.codes.all() if c.system == ProfileCode.PROCEDURE and c.role == "primary")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("codes")
