"""The admin's first page: the coding held, every kind (codes.status)."""

from django import template
from django.utils import timezone

from codes.status import coding_status as _coding_status

register = template.Library()


@register.inclusion_tag("admin/codes/coding_status.html", takes_context=True)
def coding_status(context):
    request = context["request"]
    user = request.user
    if not user.has_perm("codes.view_release"):
        return {"show": False}
    return {
        "show": True,
        "rows": _coding_status(timezone.localdate(), user),
        "today": timezone.localdate(),
        "can_view_sources": user.has_perm("codes.view_source"),
        "can_view_runs": user.has_perm("codes.view_refreshrun"),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
