"""The roles, as groups with permissions. Synced after every migrate (post_migrate), so the groups and their
permissions exist from the first migration on and follow new models.

Who does what (../shared/domain/workflows.md):
- Billing staff: draft claims, checks and uploads; read the code sets and the payer rules.
- Practice managers: reports and billing guides; read claims and checks; read codes and rules.
- Code-set administrators: sources, refreshes and releases; payers, procedure profiles and payer rules.
Superusers have every permission. What a user may see is also limited to their practice (practice.selectors).
"""

from __future__ import annotations

BILLING_STAFF = "Billing staff"
PRACTICE_MANAGERS = "Practice managers"
CODESET_ADMINS = "Code-set administrators"

VIEW = ("view",)
ALL = ("add", "change", "delete", "view")

# group -> list of (app_label, model name or "*", actions, extra codenames)
ROLES: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    BILLING_STAFF: [
        ("codes", "*", VIEW),
        ("practice", "*", VIEW),
        ("billing", "draftclaim", ALL),
        ("billing", "claimline", ALL),
        ("billing", "claimcheck", ("add", "view")),
        ("billing", "finding", VIEW),
        ("billing", "claimnote", ("add", "view")),
        ("billing", "batchupload", ("add", "view")),
        ("billing", "claimx12", ("add", "change", "view")),
        ("billing", "x12upload", ("add", "view")),
        ("billing", "remittance", VIEW),
        ("billing", "claimpayment", VIEW),
        ("billing", "adjustmentcodelist", VIEW),
    ],
    PRACTICE_MANAGERS: [
        ("codes", "release", VIEW),
        ("practice", "*", VIEW),
        ("billing", "draftclaim", VIEW),
        ("billing", "claimline", VIEW),
        ("billing", "claimcheck", VIEW),
        ("billing", "finding", VIEW),
        ("billing", "claimnote", VIEW),
        ("billing", "reportfile", ("add", "view")),
        ("billing", "remittance", VIEW),
        ("billing", "claimpayment", VIEW),
        ("billing", "adjustmentcodelist", VIEW),
        ("billing", "x12partner", ("add", "change", "view")),
        ("billing", "x12payerid", ALL),
        ("billing", "proposedpayerrule", ("change", "view")),
    ],
    CODESET_ADMINS: [
        ("codes", "*", ALL),
        ("practice", "payer", ALL),
        ("practice", "payerrule", ALL),
        ("practice", "procedureprofile", ALL),
        ("practice", "profilecode", ALL),
        ("practice", "*", VIEW),
        ("django_celery_beat", "*", ALL),
    ],
}
# Permissions a wildcard above must not give: refresh runs show addresses, errors and workers, for the code-set
# administrators only (issue 14).
EXCEPT = {
    BILLING_STAFF: ["codes.view_refreshrun"],
    PRACTICE_MANAGERS: [],
    CODESET_ADMINS: [],
}
EXTRA = {
    BILLING_STAFF: ["billing.check_claim"],
    PRACTICE_MANAGERS: ["billing.download_guide", "billing.download_report"],
    CODESET_ADMINS: [],
}


def wanted_permissions(Permission, group: str):
    """The Permission rows a group should have."""
    from django.db.models import Q

    cond = Q(pk__in=[])
    for app_label, model, actions in ROLES[group]:
        for action in actions:
            if model == "*":
                cond |= Q(content_type__app_label=app_label, codename__startswith=f"{action}_")
            else:
                cond |= Q(content_type__app_label=app_label, codename=f"{action}_{model}")
    for full in EXTRA[group]:
        app_label, codename = full.split(".")
        cond |= Q(content_type__app_label=app_label, codename=codename)
    excluded = Q(pk__in=[])
    for full in EXCEPT[group]:
        app_label, codename = full.split(".")
        excluded |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(cond).exclude(excluded)


def sync_groups(Group=None, Permission=None) -> dict[str, int]:
    """Create the groups and set exactly their permissions. Idempotent."""
    if Group is None or Permission is None:
        from django.contrib.auth.models import Group, Permission
    out = {}
    for name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        perms = list(wanted_permissions(Permission, name))
        group.permissions.set(perms)
        out[name] = len(perms)
    return out


def sync_after_migrate(sender, **kwargs) -> None:
    """post_migrate handler (connected in BillingConfig.ready)."""
    using = kwargs.get("using", "default")
    if using != "default":
        return
    sync_groups()
