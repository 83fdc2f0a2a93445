"""Proposed payer rules: found after each 835 posting, accepted or rejected in the admin.

Accepting writes the practice's own rule version for the payer through ``practice.services`` (validated, the
series locked, who and why in its history): a new series ``denials-{code}-{kind}`` from the earliest date of
service in the evidence, or a new version of that series when one exists.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from billing.denials.data import payment_facts
from billing.denials.proposals import propose
from billing.denials.summary import denials_of
from billing.models import ProposedPayerRule
from practice import policy
from practice.models import Payer, PayerRule
from practice.services import new_version_from, save_rule


def refresh_proposals(practice, remittance=None) -> int:
    """Add the denials of ``remittance`` (all the practice's payments when None) to open proposals, creating
    new ones; a proposal already rejected for the same payer, code and kind is not raised again. Returns the
    number of open proposals touched."""
    facts = payment_facts(practice, remittance=remittance)
    proposals = propose(d for payment in facts for d in denials_of(payment))
    if not proposals:
        return 0
    payers = {p.key: p for p in Payer.objects.filter(key__in={p.payer for p in proposals})}
    touched = 0
    with transaction.atomic():
        for proposal in proposals:
            payer = payers.get(proposal.payer)
            if payer is None:
                continue
            decided = ProposedPayerRule.objects.filter(
                practice=practice, payer=payer, code=proposal.code, kind=proposal.kind, status="rejected"
            ).exists()
            if decided:
                continue
            row, created = ProposedPayerRule.objects.select_for_update().get_or_create(
                practice=practice,
                payer=payer,
                code=proposal.code,
                kind=proposal.kind,
                status="proposed",
                defaults={"changes": proposal.changes, "meaning": proposal.meaning, "evidence": proposal.evidence},
            )
            if not created:
                known = {(e["claim_ref"], e["carc"], e["date_of_service"]) for e in row.evidence}
                new = [e for e in proposal.evidence if (e["claim_ref"], e["carc"], e["date_of_service"]) not in known]
                if not new:
                    continue
                row.evidence = [*row.evidence, *new]
                row.save(update_fields=["evidence"])
            touched += 1
    return touched


def accept(proposal: ProposedPayerRule, user) -> PayerRule:
    """Write the rule version the proposal describes; the proposal records it."""
    if proposal.status != "proposed":
        raise ValueError(f"proposal {proposal.pk} is already {proposal.status}")
    starts = [date.fromisoformat(e["date_of_service"]) for e in proposal.evidence if e.get("date_of_service")]
    start = min(starts) if starts else timezone.localdate()
    claims = ", ".join(sorted({e["claim_ref"] for e in proposal.evidence}))
    denials = ", ".join(
        sorted({f"{e['group']}-{e['carc']}" + "".join(f"/{r}" for r in e["rarc"]) for e in proposal.evidence})
    )
    reason = f"Accepted proposal {proposal.pk} from denials ({denials}) of claims {claims}."
    key = f"denials-{proposal.code.lower()}-{proposal.kind}"
    with transaction.atomic():
        current = (
            PayerRule.objects.series_of(proposal.payer_id, key, proposal.practice_id)
            .order_by("-effective_from")
            .first()
        )
        if current is not None and current.effective_from < start:
            rule = new_version_from(current, start, reason=reason, user=user)
        elif current is not None:
            rule = current
        else:
            rule = PayerRule(
                payer=proposal.payer,
                practice=proposal.practice,
                key=key,
                name=f"{proposal.payer.name}: {proposal.code} {proposal.meaning} (from denials)",
                version=1,
                effective_from=start,
                codes=[proposal.code],
                coverage=policy.COVERED,
                certainty="likely",
                reference=f"Payer's remittances: {denials}",
            )
        for field, value in proposal.changes.items():
            setattr(rule, field, value)
        rule.notes = (rule.notes + "\n" if rule.notes else "") + reason
        save_rule(rule, reason=reason, user=user)
        proposal.status, proposal.rule = "accepted", rule
        proposal.decided_by = user if getattr(user, "pk", None) else None
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["status", "rule", "decided_by", "decided_at"])
    return rule


def reject(proposal: ProposedPayerRule, user) -> None:
    if proposal.status != "proposed":
        raise ValueError(f"proposal {proposal.pk} is already {proposal.status}")
    proposal.status = "rejected"
    proposal.decided_by = user if getattr(user, "pk", None) else None
    proposal.decided_at = timezone.now()
    proposal.save(update_fields=["status", "decided_by", "decided_at"])
