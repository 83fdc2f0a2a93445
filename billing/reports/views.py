"""The practice manager's downloads, in the admin's look: the billing guide (streamed at once) and the check report
(figures on the page, the workbook as a Celery job), and the download of a generated report file.

Each view requires its permission (``billing.download_guide`` / ``billing.download_report``: the Practice managers
group has both) and serves only the practices the user works for (``practice.selectors.practices_for``):
another practice's file is a 404, a user without the permission gets a 403.
"""

from __future__ import annotations

import io
import os

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from billing.guide.availability import missing_amounts
from billing.guide.build import GuideError, build_guide, guide_filename, practice_locality
from billing.guide.workbook import write_billing_guide
from billing.models import ReportFile
from billing.reports.data import Period, check_records, overrides_in, rule_titles
from billing.reports.jobs import GUIDE, start_check_report
from billing.reports.workbook import aggregate_checks
from practice.models import Practice, ProcedureProfile
from practice.selectors import practices_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOP_N = 10  # claims shown per rule: the workbook's default too


def _practices(request):
    practices = practices_for(request.user)
    if not practices.exists():
        raise PermissionDenied("You do not work for a practice: ask an administrator to add you to yours.")
    return practices


class _PracticeForm(forms.Form):
    practice = forms.ModelChoiceField(queryset=Practice.objects.none(), empty_label=None)

    def __init__(self, *args, practices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = practices
        first = practices.order_by("name").first()
        self.fields["practice"].initial = first.pk if first else None
        if practices.count() == 1:
            self.fields["practice"].widget = forms.HiddenInput()


class GuideForm(_PracticeForm):
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


class ReportForm(_PracticeForm):
    period_from = forms.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$", label="From (month)", widget=forms.TextInput(attrs={"type": "month"})
    )
    period_to = forms.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$", label="To (month)", widget=forms.TextInput(attrs={"type": "month"})
    )

    def __init__(self, *args, practices, **kwargs):
        super().__init__(*args, practices=practices, **kwargs)
        self.fields["practice"].required = False  # a link with only the period: the user's first practice
        default = Period.last_months(12)
        self.fields["period_from"].initial, self.fields["period_to"].initial = default.start, default.end

    def clean(self):
        data = super().clean()
        if data.get("period_from") and data.get("period_to") and data["period_from"] > data["period_to"]:
            raise forms.ValidationError("The period starts after it ends.")
        return data

    def chosen(self) -> tuple[Practice, Period]:
        """The practice and period asked for, or the defaults when the form is unbound or invalid."""
        practice = self.fields["practice"].queryset.get(pk=self.fields["practice"].initial)
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            return data["practice"] or practice, Period(data["period_from"], data["period_to"])
        return practice, Period(self.fields["period_from"].initial, self.fields["period_to"].initial)


def _context(request, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, "opts": ReportFile._meta, **extra}


@login_required
@permission_required("billing.download_guide", raise_exception=True)
def guide_form(request):
    """The billing guide form; a valid POST answers the workbook itself (built and written in well under 2 s)."""
    practices = _practices(request)
    form = GuideForm(request.POST or None, practices=practices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        locality = (data["locality"] or "").strip() or None
        try:
            guide = build_guide(data["procedure"], data["year"], locality, data["practice"].pk)
        except GuideError as exc:
            form.add_error(exc.option if exc.option in form.fields else None, str(exc))
        else:
            out = io.BytesIO()
            write_billing_guide(guide, out)
            out.seek(0)
            name = guide_filename(data["procedure"], data["year"], guide.locality.code if guide.locality else None)
            return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)
    localities = [(p.name, practice_locality(p.pk)) for p in practices]
    missing, asked, problem = _missing_amounts(request, form)
    return TemplateResponse(
        request,
        "admin/billing/guide_form.html",
        _context(
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


@login_required
@permission_required("billing.download_report", raise_exception=True)
def report_page(request):
    """The check report's figures for a practice and period; POST queues the workbook as a job."""
    practices = _practices(request)
    if request.method == "POST":
        if not request.user.has_perm("billing.add_reportfile"):
            raise PermissionDenied("You may not generate report files.")
        form = ReportForm(request.POST, practices=practices)
        if form.is_valid():
            practice, period = form.chosen()
            report = start_check_report(practice, period, request.user)
            if report.status == "failed":
                messages.error(request, f"The report could not be built: {report.error}")
            elif report.status == "done":
                messages.success(request, f"The check report for {period.text()} is ready to download.")
            else:
                messages.info(request, f"The check report for {period.text()} is being built: this list shows it.")
            if request.user.has_perm("billing.view_reportfile"):
                return HttpResponseRedirect(reverse("admin:billing_reportfile_changelist"))
            return HttpResponseRedirect(reverse("billing-report-page"))
    else:
        form = ReportForm(request.GET or None, practices=practices)
    practice, period = form.chosen()
    figures = aggregate_checks(
        check_records([practice.pk], period), period_from=period.start, period_to=period.end, top_n=TOP_N
    )
    titles = rule_titles()
    peak = max((c.checks for _, c in figures.months), default=0) or 1
    months = [(month, c, round(100 * c.checks / peak), round(100 * c.errors / peak)) for month, c in figures.months]
    can_claims = request.user.has_perm("billing.view_draftclaim")
    can_checks = request.user.has_perm("billing.view_claimcheck")
    rules = [
        (r, titles.get(r.rule, ""), [(ref, _claim_url(ref.claim, can_claims, can_checks)) for ref in r.examples])
        for r in figures.by_rule
    ]
    costly = [entry for entry in rules if not entry[0].is_note]
    notes = [entry for entry in rules if entry[0].is_note]
    files = ReportFile.objects.filter(practice__in=practices, kind="report").select_related("practice")[:5]
    return TemplateResponse(
        request,
        "admin/billing/report_page.html",
        _context(
            request,
            "Check report",
            form=form,
            practice=practice,
            period=period,
            figures=figures,
            months=months,
            rules=rules,
            costly=costly,
            notes=notes,
            top_n=TOP_N,
            files=files,
            can_generate=request.user.has_perm("billing.add_reportfile"),
            overrides=overrides_in([practice.pk], period),
        ),
    )


def _claim_url(label: str, can_claims: bool, can_checks: bool) -> str:
    """Where a claim named in the report opens: the draft claim (by reference or id), or the check itself."""
    number = label.rpartition("#")[2]
    if label.startswith("check #") and number.isdigit():
        return reverse("admin:billing_claimcheck_change", args=[number]) if can_checks else ""
    if not can_claims:
        return ""
    if label.startswith("claim #") and number.isdigit():
        return reverse("admin:billing_draftclaim_change", args=[number])
    return reverse("admin:billing_draftclaim_changelist") + "?" + urlencode({"q": label})


@login_required
def report_download(request, pk: int):
    """A generated report file of one of the user's practices, with the permission its kind needs."""
    user = request.user
    if not (user.has_perm("billing.download_report") or user.has_perm("billing.download_guide")):
        raise PermissionDenied("You may not download reports.")
    report = get_object_or_404(ReportFile, pk=pk, practice__in=practices_for(user))
    needed = "billing.download_guide" if report.kind == GUIDE else "billing.download_report"
    if not user.has_perm(needed):
        raise PermissionDenied("You may not download this kind of file.")
    if not report.file:
        raise Http404("This report has no file yet.")
    return FileResponse(
        report.file.open("rb"), as_attachment=True, filename=os.path.basename(report.file.name), content_type=XLSX
    )
