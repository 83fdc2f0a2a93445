"""Denials read from posted 835 payments, mapped to the checker rule that would have caught them (pure).

A *denial* is an adjustment of group CO, OA, PI or CR whose CARC is not an ordinary reduction (deductible,
coinsurance, co-pay, contractual write-down, sequestration...: ``ROUTINE_CARCS``); PR (patient
responsibility) is never a denial. A line's denial carries the line's remark codes (LQ) and the claim's
(MOA); a claim-level denial (CAS under CLP) is counted against the claim's first procedure code.

``RULE_MAP`` says which rule of the checker speaks for a CARC (with a RARC when the CARC alone is too vague,
as CO-16 "information missing" is): a denial is *caught before* when the claim's check had a finding of that
rule. A denial no rule maps to is *unforeseen*: the material for a proposed payer rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

DENIAL_GROUPS = {"CO", "OA", "PI", "CR"}
# Ordinary reductions, not denials: deductible, coinsurance, co-pay, prior payer, contractual, discount, capitation,
# sequestration.
ROUTINE_CARCS = {"1", "2", "3", "23", "24", "45", "131", "253"}

# (CARC, RARC or None for any) -> the rule ids that would have caught it, best first. RARC-specific rows win.
RULE_MAP: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("16", "MA50", ("PAYER_REQUIRES_TRIAL_NUMBER", "PAYER_TRIAL_NOT_APPROVED")),
    ("16", "M76", ("DIAGNOSIS_CODE_UNKNOWN", "DIAGNOSIS_NOT_BILLABLE", "DIAGNOSIS_POINTER_INVALID")),
    ("16", "MA63", ("DIAGNOSIS_CODE_UNKNOWN", "DIAGNOSIS_NOT_BILLABLE", "PAYER_REQUIRES_DIAGNOSIS")),
    ("16", "M51", ("PROCEDURE_CODE_UNKNOWN", "PROCEDURE_CODE_NOT_IN_EFFECT")),
    ("16", "N290", ("NPI_INVALID",)),
    ("16", "N822", ("PAYER_REQUIRES_MODIFIER",)),
    ("197", None, ("PAYER_REQUIRES_PRIOR_AUTH",)),
    ("97", None, ("NCCI_PTP_CONFLICT",)),
    ("236", None, ("NCCI_PTP_CONFLICT",)),
    ("234", None, ("NCCI_PTP_CONFLICT",)),
    ("4", None, ("PAYER_REQUIRES_MODIFIER", "MODIFIER_NOT_APPLICABLE", "MODIFIER_UNKNOWN", "MODIFIER_NOT_IN_EFFECT")),
    ("182", None, ("MODIFIER_NOT_IN_EFFECT", "MODIFIER_UNKNOWN")),
    ("181", None, ("PROCEDURE_CODE_NOT_IN_EFFECT", "PROCEDURE_CODE_UNKNOWN")),
    ("146", None, ("DIAGNOSIS_NOT_IN_EFFECT", "DIAGNOSIS_CODE_UNKNOWN", "DIAGNOSIS_NOT_BILLABLE")),
    ("11", None, ("PAYER_REQUIRES_DIAGNOSIS",)),
    ("167", None, ("PAYER_REQUIRES_DIAGNOSIS",)),
    ("5", None, ("PAYER_PLACE_OF_SERVICE", "PLACE_OF_SERVICE_UNKNOWN")),
    ("29", None, ("TIMELY_FILING",)),
    ("50", None, ("PAYER_NOT_COVERED",)),
    ("55", None, ("PAYER_NOT_COVERED",)),
    ("56", None, ("PAYER_NOT_COVERED",)),
    ("151", "N362", ("UNITS_EXCEED_MUE",)),
    ("151", None, ("FREQUENCY_LIMIT", "UNITS_EXCEED_MUE")),
    ("119", None, ("FREQUENCY_LIMIT",)),
)


@dataclass
class PaymentFacts:
    """What the denial report needs of one posted claim payment (plain data)."""

    payer: str
    month: str  # YYYY-MM of the date of service ('' when unknown)
    claim_ref: str
    claim_codes: list[str]
    adjustments: list[dict]  # claim-level CAS
    remarks: list[str]  # claim-level MOA
    lines: list[dict]  # {"code", "adjustments", "remarks", "charge"}
    check_rules: set[str] = field(default_factory=set)  # rules the claim's last check found (error or warning)
    date_of_service: str = ""


@dataclass(frozen=True)
class Denial:
    payer: str
    month: str
    claim_ref: str
    group: str
    carc: str
    rarc: tuple[str, ...]
    code: str
    amount: Decimal
    rule: str | None
    caught_before: bool
    date_of_service: str = ""


def rule_for(carc: str, rarc: Iterable[str], found: set[str]) -> str | None:
    """The rule that speaks for the denial: one the claim's check found if any of the candidates, else the first."""
    rarc = set(rarc)
    candidates: tuple[str, ...] = ()
    for code, remark, rules in RULE_MAP:
        if code == carc and remark is not None and remark in rarc:
            candidates = rules
            break
    if not candidates:
        candidates = next((rules for code, remark, rules in RULE_MAP if code == carc and remark is None), ())
    if not candidates:
        return None
    return next((rule for rule in candidates if rule in found), candidates[0])


def is_denial(adjustment: dict) -> bool:
    return adjustment.get("group") in DENIAL_GROUPS and adjustment.get("carc") not in ROUTINE_CARCS


def denials_of(payment: PaymentFacts) -> list[Denial]:
    out = []

    def add(adjustment: dict, code: str, remarks: list[str]) -> None:
        rarc = tuple(dict.fromkeys(remarks))
        rule = rule_for(adjustment["carc"], rarc, payment.check_rules)
        out.append(
            Denial(
                payer=payment.payer,
                month=payment.month,
                claim_ref=payment.claim_ref,
                group=adjustment["group"],
                carc=adjustment["carc"],
                rarc=rarc,
                code=code,
                amount=Decimal(adjustment["amount"]),
                rule=rule,
                caught_before=rule is not None and rule in payment.check_rules,
                date_of_service=payment.date_of_service,
            )
        )

    first_code = payment.claim_codes[0] if payment.claim_codes else (payment.lines[0]["code"] if payment.lines else "")
    for adjustment in payment.adjustments:
        if is_denial(adjustment):
            add(adjustment, first_code, payment.remarks)
    for line in payment.lines:
        for adjustment in line.get("adjustments", []):
            if is_denial(adjustment):
                add(adjustment, line.get("code", ""), [*line.get("remarks", []), *payment.remarks])
    return out


def billed_units(payment: PaymentFacts) -> list[tuple[str, str, str]]:
    """(payer, code, month) once per line the payment answered (the denominator of the denial rate)."""
    codes = [line.get("code", "") for line in payment.lines] or payment.claim_codes[:1]
    return [(payment.payer, code, payment.month) for code in codes]


def summarise(payments: Iterable[PaymentFacts], *, by_month: bool) -> list[dict]:
    """Denials grouped by payer x CARC x RARC x procedure (x month): count, amount, rate, rule, caught_before.

    ``rate``: denials of the group over the lines billed to the payer for the procedure (in the month).
    ``caught_before`` is true when every denial of the group was flagged by the claim's check.
    """
    groups: dict[tuple, dict] = {}
    billed: dict[tuple, int] = {}
    for payment in payments:
        for key in billed_units(payment):
            key = key if by_month else key[:2]
            billed[key] = billed.get(key, 0) + 1
        for d in denials_of(payment):
            key = (d.payer, d.group, d.carc, d.rarc, d.code, *((d.month,) if by_month else ()))
            row = groups.setdefault(
                key,
                {"payer": d.payer, "group": d.group, "carc": d.carc, "rarc": list(d.rarc), "code": d.code,
                 **({"month": d.month} if by_month else {}), "count": 0, "amount": Decimal(0), "rule": d.rule,
                 "caught_before": True, "claims": []},
            )  # fmt: skip
            row["count"] += 1
            row["amount"] += d.amount
            row["caught_before"] = row["caught_before"] and d.caught_before
            if d.claim_ref not in row["claims"]:
                row["claims"].append(d.claim_ref)
    out = []
    for _key, row in sorted(groups.items(), key=lambda kv: tuple(str(part) for part in kv[0])):
        base = (row["payer"], row["code"], *((row["month"],) if by_month else ()))
        row["rate"] = round(row["count"] / billed[base], 4) if billed.get(base) else None
        row["amount"] = str(row["amount"].quantize(Decimal("0.01")))
        out.append(row)
    return out


def unforeseen(payments: Iterable[PaymentFacts]) -> list[Denial]:
    """Denials no rule of the checker maps to: the evidence for proposed payer rules."""
    return [d for payment in payments for d in denials_of(payment) if d.rule is None]
