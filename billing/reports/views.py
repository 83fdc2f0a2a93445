"""The check report in the admin's look (figures on the page, the workbook as a Celery job) and the download of a
generated report file (a check report or a guide). The guide's form is ``billing.guide.views``.

Each view requires its permission (``billing.download_report`` / ``billing.download_guide``: the Practice managers
group has both) and serves only the practices the user works for (``billing.downloads``):
another practice's file is a 404, a user without the permission gets a 403.
"""

from __future__ import annotations

import os

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from billing.downloads import XLSX, PracticeForm, page_context, user_practices
from billing.models import ReportFile
from billing.reports.data import Period, check_records, overrides_in, rule_titles
from billing.reports.figures import aggregate_checks
from billing.reports.jobs import GUIDE, start_check_report
from practice.models import Practice
from practice.selectors import practices_for

TOP_N = 10  # claims shown per rule: the workbook's default too


class ReportForm(PracticeForm):
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


@login_required
@permission_required("billing.download_report", raise_exception=True)
def report_page(request):
    """The check report's figures for a practice and period; POST queues the workbook as a job."""
    practices = user_practices(request)
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
        page_context(
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
