"""The work queue (pure): claims needing attention grouped by who works them, oldest first.

A claim needs attention when it is not ready to send; why comes from billing.claims.readiness (not checked, changed
since its check, errors, codes not validated) or is "warnings to review" when only warnings stand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

UNASSIGNED = "Unassigned"


@dataclass
class QueueItem:
    claim: object  # a DraftClaim (only read: reference, status, dates, payer)
    age_days: int  # days since the claim was entered
    days_since_service: int
    reasons: list[str]
    note: object | None = None  # its latest ClaimNote


@dataclass
class QueueGroup:
    assignee: str
    items: list[QueueItem] = field(default_factory=list)

    @property
    def oldest(self) -> int:
        return max((item.age_days for item in self.items), default=0)


def by_assignee(
    claims: Sequence, problems: Mapping[int, list[str]], notes: Mapping[int, object], today: date
) -> list[QueueGroup]:
    """Groups by assignee (unassigned first, then by name); in each, the oldest claim first."""
    groups: dict[str, QueueGroup] = {}
    for claim in claims:
        reasons = list(problems.get(claim.pk, []))
        if not reasons and claim.status == "warning":
            reasons = ["warnings to review"]
        if not reasons:
            reasons = ["validated: mark it ready to send"]
        who = claim.assigned_to.get_username() if claim.assigned_to_id else UNASSIGNED
        entered = timezone.localdate(claim.created_at) if claim.created_at else today
        groups.setdefault(who, QueueGroup(who)).items.append(
            QueueItem(
                claim,
                (today - entered).days,
                (today - claim.date_of_service).days,
                reasons,
                notes.get(claim.pk),
            )
        )
    for group in groups.values():
        group.items.sort(key=lambda item: (-item.age_days, -item.days_since_service, item.claim.pk))
    return sorted(groups.values(), key=lambda g: (g.assignee != UNASSIGNED, g.assignee))
