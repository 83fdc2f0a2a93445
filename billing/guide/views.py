"""The billing guide form in the admin's look; a valid POST answers the workbook itself (built and written at once).

Requires ``billing.download_guide`` (the Practice managers group has it) and offers only the practices the user works
for (``billing.downloads``).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.template.response import TemplateResponse
from django.utils import timezone

from billing.downloads import PracticeForm, page_context, user_practices, xlsx_download
from billing.guide.availability import missing_amounts
from billing.guide.build import GuideError, build_guide
from billing.guide.workbook import write_billing_guide
from practice.models import Location, ProcedureProfile


def practice_locality(practice_id: int | None) -> str | None:
    """The practice's first location's locality (``10112-00``), the guide form's default."""
    if practice_id is None:
        return None
    location = Location.objects.filter(practice_id=practice_id).order_by("name").first()
    return location.locality_code if location else None


def guide_filename(procedure_key: str, year: int, locality: str | None) -> str:
    return f"{procedure_key}-billing-guide-{year}{'-' + locality if locality else ''}.xlsx"


class GuideForm(PracticeForm):
    procedure = forms.ChoiceField()
    year = forms.IntegerField(min_value=1990, max_value=2100)
    locality = forms.CharField(
        required=False,
        max_length=8,
        help_text="Medicare contractor and locality as in the GPCI file, e.g. 10112-00 (Alabama). "
        "Empty: national amounts only.",
    )

    def __init__(self, *args, practices, **kwargs):
        super().__init__(*args, practices=practices, **kwargs)
        profiles = list(ProcedureProfile.objects.order_by("name").values_list("key", "name"))
        self.fields["procedure"].choices = profiles
        self.fields["procedure"].initial = "mild" if any(key == "mild" for key, _ in profiles) else None
        self.fields["year"].initial = timezone.localdate().year
        self.fields["locality"].initial = practice_locality(self.fields["practice"].initial)


@login_required
@permission_required("billing.download_guide", raise_exception=True)
def guide_form(request):
    """The billing guide form; a valid POST answers the workbook itself (built and written in well under 2 s)."""
    practices = user_practices(request)
    form = GuideForm(request.POST or None, practices=practices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        locality = (data["locality"] or "").strip() or None
        try:
            guide = build_guide(data["procedure"], data["year"], locality, data["practice"].pk)
        except GuideError as exc:
            form.add_error(exc.option if exc.option in form.fields else None, str(exc))
        else:
            name = guide_filename(data["procedure"], data["year"], guide.locality.code if guide.locality else None)
            return xlsx_download(lambda out: write_billing_guide(guide, out), name)
    localities = [(p.name, practice_locality(p.pk)) for p in practices]
    missing, asked, problem = _missing_amounts(request, form)
    return TemplateResponse(
        request,
        "admin/billing/guide_form.html",
        page_context(
            request,
            "Billing guide",
            form=form,
            localities=localities,
            missing=missing,
            asked=asked,
            missing_problem=problem,
        ),
    )


def _missing_amounts(request, form) -> tuple[list[tuple[str, str]], dict, str]:
    """Which amounts the guide for the chosen procedure, year and locality will lack: said on the form before the
    download (the form's script asks again, with ?procedure=&year=&locality=, whenever one of them changes)."""
    source = request.POST if request.method == "POST" else request.GET
    fields = form.fields

    def value(name):
        return (source.get(name) or fields[name].initial or "").__str__().strip()

    asked = {"procedure": value("procedure"), "year": value("year"), "locality": value("locality")}
    practice = fields["practice"].queryset.filter(pk=source.get("practice") or fields["practice"].initial).first()
    if not asked["year"].isdigit() or not 1990 <= int(asked["year"]) <= 2100 or practice is None:
        return [], asked, "Choose a year between 1990 and 2100."
    try:
        guide = build_guide(asked["procedure"], int(asked["year"]), asked["locality"] or None, practice.pk)
    except GuideError as exc:
        return [], asked, str(exc)
    return missing_amounts(guide), asked, ""
