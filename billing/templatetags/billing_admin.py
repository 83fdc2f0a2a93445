"""The admin's first page: what needs the user today (claims with errors, not checked; coding held)."""

from django import template
from django.apps import apps
from django.db.models import Count
from django.utils import timezone

from billing.models import ClaimStatus, DraftClaim
from practice.selectors import practices_for

register = template.Library()


@register.inclusion_tag("billing/work_panel.html", takes_context=True)
def work_panel(context):
    request = context["request"]
    user = request.user
    counts = {}
    if user.has_perm("billing.view_draftclaim"):
        rows = DraftClaim.objects.filter(practice__in=practices_for(user)).values("status").annotate(n=Count("id"))
        counts = {r["status"]: r["n"] for r in rows}
    notices = []
    try:
        Notice = apps.get_model("codes", "ChangeNotice")
        notices = list(Notice.objects.order_by("-id")[:5])
    except LookupError:
        pass
    return {
        "errors": counts.get(ClaimStatus.ERROR, 0),
        "unchecked": counts.get(ClaimStatus.DRAFT, 0),
        "warnings": counts.get(ClaimStatus.WARNING, 0),
        "ready": counts.get(ClaimStatus.READY, 0),
        "can_claims": user.has_perm("billing.view_draftclaim"),
        "can_guide": user.has_perm("billing.download_guide"),
        "can_report": user.has_perm("billing.download_report"),
        "can_report_files": user.has_perm("billing.view_reportfile"),
        "notices": notices,
        "today": timezone.localdate(),
        "zone": timezone.get_current_timezone_name(),
    }
