"""The code look-up of the admin: a page (a code or words, as of a date) and the JSON the claim form's
autocomplete reads. Served under the release admin's URLs (``admin:codes_lookup``, ``admin:codes_suggest``)."""

from datetime import date

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from codes import kinds as k
from codes import selectors

# The code sets a look-up by words searches, by system, in the order their codes are listed.
SEARCHED = {
    "icd10cm": [(k.ICD10CM, {})],
    "procedure": [(k.PROCEDURE_SUMMARIES, {}), (k.HCPCS, {"is_modifier": False}), (k.CPT, {})],
    "modifier": [(k.MODIFIERS, {})],
    "pos": [(k.POS, {})],
}


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
    searched = SEARCHED[system if system in SEARCHED else "procedure"]
    seen = {r["code"] for r in results}
    code_prefix = words.replace(".", "").upper()
    found: list[str] = []
    for by_code in (True, False):
        for kind, only in searched:
            release = snap.release(kind)
            if release is None:
                continue
            text_field = k.get(kind).description
            rows = k.get(kind).model_class.objects.filter(release_id=release.id, **only)
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
    kinds = [kind for kind, _ in SEARCHED[system if system in SEARCHED else "procedure"]]
    return [k.KIND_LABELS[kind] for kind in kinds if snap.loaded(kind) and snap.release(kind) is None]


def lookup_view(model_admin, request):
    if not model_admin.has_view_permission(request):
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
        **model_admin.admin_site.each_context(request),
        "title": "Look up a code as of a date",
        "form": form,
        "results": results,
        "on": on,
        "freshness": selectors.freshness(timezone.localdate()),
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/codes/lookup.html", context)


def suggest_view(model_admin, request):
    """JSON for the claim form's autocomplete: up to 10 codes matching ``q`` (a code prefix or words) in the
    release of ``system`` in force ``on`` (default today). Logged-in staff who read the code sets only."""
    if not model_admin.has_view_permission(request):
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
