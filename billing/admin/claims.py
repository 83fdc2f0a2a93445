"""The billing office's admin: draft claims with their lines, one-click checks, findings with their fixes.

Every queryset is limited to the practices the user works for (practice.selectors.practices_for).
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from billing.admin.base import PracticeScopedAdmin
from billing.admin.checks import SEVERITY_COLOURS, LatestRuleFilter, _count, findings_html
from billing.checking.claim import CLAIM_DIAGNOSIS_FIELDS, CLAIM_FIELDS, CLAIM_HEADER_FIELDS
from billing.claims import checks, services
from billing.models import (
    ClaimLine,
    ClaimNote,
    ClaimStatus,
    DraftClaim,
)
from config.bad_input import clean_storable_text
from practice.selectors import practices_for


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
        if practice is not None and payer is not None and (problem := services.payer_not_billed(practice, payer)):
            self.add_error("payer", problem)
        if self.instance.pk is not None:
            try:  # locks the row until the admin's transaction ends (PostgreSQL): a concurrent save waits here
                services.ensure_version(self.instance.pk, cleaned.get("expected_version"))
            except services.StaleClaimVersion as exc:
                raise forms.ValidationError(exc.message, code="stale_version") from None
        if cleaned.get("override_rule") and not (cleaned.get("override_reason") or "").strip():
            self.add_error("override_reason", "Say why the finding is overridden: the reason is kept with the claim.")
        return cleaned

    class Meta:
        model = DraftClaim
        fields = ["practice", *CLAIM_FIELDS, "assigned_to"]


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
            {"fields": ["practice", *CLAIM_HEADER_FIELDS]},
        ),
        (
            "Diagnoses and trial",
            {"fields": list(CLAIM_DIAGNOSIS_FIELDS)},
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
        """A new claim is saved here (its lines then by the inline); a change in ``save_related``, once the lines
        are saved, by the same service as the API's, all in the admin's one transaction."""
        if not change:
            services.draft_claim_create(claim=obj, lines=None, user=request.user)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        claim = form.instance
        data = form.cleaned_data
        if change:
            # The form refused a stale version; this compare-and-set closes the gap between its check and this
            # write where the database does not lock rows (SQLite). A loss rolls back the whole save, lines too.
            services.draft_claim_update(
                claim=claim,
                data={name: data[name] for name in ("practice", *CLAIM_FIELDS, "assigned_to") if name in data},
                lines=None,  # saved above by the inline, in the same transaction
                expected_version=data["expected_version"],
                edited=form.claim_changed() or any(formset.has_changed() for formset in formsets),
            )
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
        check = checks.check_drafts([claim], user=request.user)[0]
        level = messages.SUCCESS if check.status == "clean" else messages.WARNING
        messages.add_message(request, level, f"Checked: {check.status} ({_count(check.result)}).")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.StaleClaimVersion as exc:
            # The admin's transaction rolled the whole save back (claim and lines): say so, show the claim again.
            messages.error(request, exc.message)
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
        made = checks.check_drafts(queryset.select_related("payer").prefetch_related("lines"), user=request.user)
        by_status: dict[str, int] = {}
        for c in made:
            by_status[c.status] = by_status.get(c.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "nothing"
        self.message_user(request, f"Checked {len(made)} claim(s): {summary}.")

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
