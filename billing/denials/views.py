"""The denial report in the admin: payer x CARC x RARC x procedure x month, on the page and as xlsx.

Requires ``billing.download_report`` (practice managers) and shows only the practices the user works for.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.template.response import TemplateResponse

from billing.denials.adjustment_codes import summaries
from billing.denials.data import payment_facts
from billing.denials.summary import summarise
from billing.denials.workbook import write_denial_report
from billing.downloads import PracticeForm, page_context, user_practices, xlsx_download


class DenialForm(PracticeForm):
    since = forms.DateField(
        required=False, label="Dates of service from", widget=forms.DateInput(attrs={"type": "date"})
    )


@login_required
@permission_required("billing.download_report", raise_exception=True)
def denial_report(request):
    practices = user_practices(request)
    form = DenialForm(request.GET or None, practices=practices)
    practice = practices.get(pk=form.fields["practice"].initial)
    since: date | None = None
    if form.is_bound and form.is_valid():
        practice = form.cleaned_data["practice"] or practice
        since = form.cleaned_data["since"]
    rows = summarise(payment_facts(practice, since), by_month=True)
    carc, rarc = summaries("carc"), summaries("rarc")
    if request.GET.get("format") == "xlsx":
        title = f"Denials: {practice.name}" + (f", dates of service from {since}" if since else "")
        return xlsx_download(
            lambda out: write_denial_report(title, rows, carc, rarc, out), f"denials-{practice.key}.xlsx"
        )
    for row in rows:
        row["carc_text"] = carc.get(row["carc"], "")
        row["rarc_text"] = " | ".join(rarc.get(code, code) for code in row["rarc"])
    return TemplateResponse(
        request,
        "admin/billing/denial_report.html",
        page_context(request, "Denial report", form=form, practice=practice, rows=rows, query=request.GET.urlencode()),
    )
