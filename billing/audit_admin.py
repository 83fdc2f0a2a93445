"""Who uploaded what, and when: a read-only admin list of batch uploads, scoped to the user's practices.

Registered from BillingConfig.ready() only when no other module registered BatchUpload (the uploads screens may
bring their own admin), so the audit trail is always viewable without two registrations clashing.
"""

from __future__ import annotations

from django.contrib import admin

from billing.admin import PracticeScopedAdmin
from billing.models import BatchUpload


class BatchUploadAuditAdmin(PracticeScopedAdmin):
    list_display = ["__str__", "practice", "status", "total_claims", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "created_at"]
    date_hierarchy = "created_at"
    fields = [
        "practice",
        "original_name",
        "status",
        "total_claims",
        "done_claims",
        "counts",
        "error",
        "created_by",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def register(site: admin.AdminSite = admin.site) -> None:
    if not site.is_registered(BatchUpload):
        site.register(BatchUpload, BatchUploadAuditAdmin)
