"""Proposed payer rules from denials no rule foresaw (pure: denials in, proposals out).

A denial the claim's check did not flag, whose CARC (with RARC) says plainly what the payer wants, becomes a
proposal for the practice's own rule for that payer and procedure: CO-197 -> prior authorisation required;
CO-16 + MA50 -> clinical-trial number required; CO-55 -> investigational; CO-50 / CO-96 -> not covered.
Denials that say nothing so concrete (CO-4: which modifier?) are left to the report. A person accepts or
rejects each proposal in the admin; accepting writes a normal, audited rule version (practice.services).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from billing.denials.summary import Denial

# (CARC, RARC or None) -> (kind, the rule fields it sets, what it means in words)
PROPOSALS: tuple[tuple[str, str | None, str, dict, str], ...] = (
    ("197", None, "prior-auth", {"prior_auth_required": True}, "prior authorisation required"),
    ("16", "MA50", "trial-number", {"trial_number_required": True}, "clinical-trial number required"),
    ("55", None, "investigational", {"coverage": "investigational"}, "investigational (not covered)"),
    ("50", None, "not-covered", {"coverage": "not_covered"}, "not covered (not medically necessary)"),
    ("96", None, "not-covered", {"coverage": "not_covered"}, "not covered"),
)


@dataclass
class Proposal:
    payer: str
    code: str
    kind: str
    changes: dict
    meaning: str
    evidence: list[dict] = field(default_factory=list)


def proposal_kind(carc: str, rarc: Iterable[str]) -> tuple[str, dict, str] | None:
    rarc = set(rarc)
    for code, remark, kind, changes, meaning in PROPOSALS:
        if code == carc and (remark is None or remark in rarc):
            return kind, changes, meaning
    return None


def propose(denials: Iterable[Denial]) -> list[Proposal]:
    """One proposal per payer x procedure x kind, with every denial behind it as evidence."""
    out: dict[tuple[str, str, str], Proposal] = {}
    for d in denials:
        if d.caught_before or not d.code:
            continue
        found = proposal_kind(d.carc, d.rarc)
        if found is None:
            continue
        kind, changes, meaning = found
        proposal = out.setdefault((d.payer, d.code, kind), Proposal(d.payer, d.code, kind, dict(changes), meaning))
        proposal.evidence.append(
            {"claim_ref": d.claim_ref, "date_of_service": d.date_of_service, "group": d.group, "carc": d.carc,
             "rarc": list(d.rarc), "amount": str(d.amount)}
        )  # fmt: skip
    return list(out.values())
