"""What the managers' pages share (guide, check report, denial report): the practices a user may choose, the
practice field, the admin's page context and the xlsx download.

Each page requires its own permission and serves only the practices the user works for
(``practice.selectors.practices_for``): a user who works for none gets a 403.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse

from billing.models import ReportFile
from practice.models import Practice
from practice.selectors import practices_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def user_practices(request) -> QuerySet[Practice]:
    """The practices the user works for; none: PermissionDenied."""
    practices = practices_for(request.user)
    if not practices.exists():
        raise PermissionDenied("You do not work for a practice: ask an administrator to add you to yours.")
    return practices


class PracticeForm(forms.Form):
    """A form with a practice field over ``practices`` (hidden when there is only one; the first by name chosen)."""

    practice = forms.ModelChoiceField(queryset=Practice.objects.none(), empty_label=None)

    def __init__(self, *args, practices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practice"].queryset = practices
        first = practices.order_by("name").first()
        self.fields["practice"].initial = first.pk if first else None
        if practices.count() == 1:
            self.fields["practice"].widget = forms.HiddenInput()


def page_context(request, title: str, **extra) -> dict:
    """The admin's context for a page of ours (site header, breadcrumbs under Billing)."""
    return {**admin.site.each_context(request), "title": title, "opts": ReportFile._meta, **extra}


def xlsx_download(write: Callable[[io.BytesIO], object], filename: str) -> FileResponse:
    """The workbook ``write`` writes to a stream, as an attachment named ``filename``."""
    out = io.BytesIO()
    write(out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX)
