"""Admin for the code sets: releases with their sources, counts and in-force dates; a look-up as of a date."""

from datetime import date

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from codes import models, selectors
from codes import snapshot as k
from codes.diff import diff_releases, previous_release


class LookupForm(forms.Form):
    system = forms.ChoiceField(
        choices=[
            ("icd10cm", "ICD-10-CM diagnosis"),
            ("procedure", "Procedure (CPT / HCPCS)"),
            ("modifier", "Modifier"),
            ("pos", "Place of service"),
        ]
    )
    q = forms.CharField(label="Code or words", max_length=100)
    on = forms.DateField(
        label="As of (date of service)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


SUGGESTIONS = 10  # codes the claim form's autocomplete shows


class SuggestForm(LookupForm):
    q = forms.CharField(max_length=40, strip=True)

    def clean_on(self):
        on = self.cleaned_data["on"]
        if on is not None and not date(1990, 1, 1) <= on <= date(2100, 12, 31):
            raise forms.ValidationError("a date of service between 1990 and 2100")
        return on


def search(system: str, q: str, on: date, limit: int = 50) -> list[dict]:
    """Codes matching a code prefix or words in the release in force on ``on``: the exact code first, then codes
    starting with what was typed, then codes whose description holds every word (each group in code order)."""
    snap = selectors.snapshot_on(on)
    words = q.strip()
    exact = selectors.lookup(system, words, on, snapshot=snap)
    results = [exact] if exact["found"] else []
    kind_models = {
        "icd10cm": [(k.ICD10CM, models.IcdCode, "description", {})],
        "procedure": [
            (k.PROCEDURE_SUMMARIES, models.ProcedureSummary, "summary", {}),
            (k.HCPCS, models.HcpcsCode, "long_description", {"is_modifier": False}),
            (k.CPT, models.CptDescriptor, "description", {}),
        ],
        "modifier": [(k.MODIFIERS, models.ModifierCode, "description", {})],
        "pos": [(k.POS, models.PlaceOfService, "name", {})],
    }[system if system in ("icd10cm", "modifier", "pos") else "procedure"]
    seen = {r["code"] for r in results}
    code_prefix = words.replace(".", "").upper()
    found: list[str] = []
    for by_code in (True, False):
        for kind, model, text_field, only in kind_models:
            release = snap.release(kind)
            if release is None:
                continue
            rows = model.objects.filter(release_id=release.id, **only)
            if by_code:
                if not code_prefix or " " in code_prefix:
                    continue
                rows = rows.filter(code__startswith=code_prefix)
            else:
                cond = Q()
                for word in words.split():
                    cond &= Q(**{f"{text_field}__icontains": word})
                rows = rows.filter(cond).exclude(code__startswith=code_prefix)
            found.extend(rows.order_by("code").values_list("code", flat=True)[:limit])
    for code in found:
        if len(results) >= limit:
            break
        item = selectors.lookup(system, code, on, snapshot=snap)
        if item["code"] not in seen:
            seen.add(item["code"])
            results.append(item)
    return results


def uncovered(system: str, on: date) -> list[str]:
    """The code sets of ``system`` loaded but with no release in force on ``on`` (their answers say "not in
    effect" for every code: the page says why)."""
    snap = selectors.snapshot_on(on)
    kinds = {
        "icd10cm": [k.ICD10CM],
        "modifier": [k.MODIFIERS],
        "pos": [k.POS],
    }.get(system, [k.PROCEDURE_SUMMARIES, k.HCPCS, k.CPT])
    return [k.KIND_LABELS[kind] for kind in kinds if snap.loaded(kind) and snap.release(kind) is None]


@admin.register(models.Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "effective_from", "effective_to", "status_badge", "row_count", "loaded_at"]
    list_filter = ["kind", "status"]
    search_fields = ["label", "sha256", "sources"]
    date_hierarchy = "effective_from"
    readonly_fields = [
        "kind",
        "label",
        "effective_from",
        "effective_to",
        "status",
        "sources",
        "sha256",
        "row_count",
        "loaded_at",
        "loaded_by",
        "held_reason",
        "diff_link",
    ]
    fields = readonly_fields + ["notes"]
    actions = ["put_in_force"]

    def has_add_permission(self, request):
        return False  # releases come from import_codeset or a refresh, never typed in

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colour = {"loaded": "#2e7d32", "held": "#ef6c00", "failed": "#c62828"}.get(obj.status, "#555")
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_status_display())

    @admin.display(description="What changed")
    def diff_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:codes_release_diff", args=[obj.pk])
        return format_html('<a href="{}">Compare with the previous release</a>', url)

    @admin.action(description="Put the selected held releases in force", permissions=["change"])
    def put_in_force(self, request, queryset):
        from codes.loading import activate

        done = 0
        for release in queryset.filter(status=models.Release.Status.HELD):
            activate(release)
            done += 1
        self.message_user(request, f"{done} release(s) put in force.")

    def get_urls(self):
        return [
            path("lookup/", self.admin_site.admin_view(self.lookup_view), name="codes_lookup"),
            path("lookup/suggest/", self.admin_site.admin_view(self.suggest_view), name="codes_suggest"),
            path("<int:pk>/diff/", self.admin_site.admin_view(self.diff_view), name="codes_release_diff"),
            *super().get_urls(),
        ]

    def lookup_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied  # staff without a role that reads the code sets
        form = LookupForm(request.GET or None)
        results, on = None, timezone.localdate()
        if form.is_valid():
            on = form.cleaned_data["on"] or on
            results = search(form.cleaned_data["system"], form.cleaned_data["q"], on)
            gaps = uncovered(form.cleaned_data["system"], on)
        else:
            gaps = []
        context = {
            "uncovered": gaps,
            **self.admin_site.each_context(request),
            "title": "Look up a code as of a date",
            "form": form,
            "results": results,
            "on": on,
            "freshness": selectors.freshness(timezone.localdate()),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/codes/lookup.html", context)

    def suggest_view(self, request):
        """JSON for the claim form's autocomplete: up to 10 codes matching ``q`` (a code prefix or words) in the
        release of ``system`` in force ``on`` (default today). Logged-in staff who read the code sets only."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "you may not read the code sets"}, status=403)
        form = SuggestForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"errors": {k: [str(e) for e in v] for k, v in form.errors.items()}}, status=400)
        on = form.cleaned_data["on"] or timezone.localdate()
        results = search(form.cleaned_data["system"], form.cleaned_data["q"], on, limit=SUGGESTIONS)
        return JsonResponse(
            {
                "on": on.isoformat(),
                "uncovered": uncovered(form.cleaned_data["system"], on),
                "results": [
                    {
                        "code": r["code"],
                        "description": r["description"] or "",
                        "in_effect": r["in_effect"],
                        "billable": r["billable"],
                        "release": r["release"],
                    }
                    for r in results
                ],
            }
        )

    def diff_view(self, request, pk):
        release = self.get_object(request, str(pk))
        if not self.has_view_permission(request, release):
            raise PermissionDenied
        if release is None:
            raise Http404("no such release")
        previous = previous_release(release) if release else None
        diff = diff_releases(previous, release) if previous else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"What changed in {release}",
            "release": release,
            "previous": previous,
            "diff": diff,
            "changes": diff.changes[:1000] if diff else [],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/codes/diff.html", context)


from codes import refresh_admin  # noqa: E402, F401  (sources, refresh runs, change notices)
