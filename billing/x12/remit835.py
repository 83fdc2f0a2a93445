"""835 (005010X221A1) remittances mapped to plain payments, streamed (pure: segments in, payments out).

``read_835(segments)`` yields, per transaction set, a ``Remittance`` (BPR paid amount and date, TRN trace
number and payer identifier, the payer's N1*PR and REF*2U) and then one ``Payment`` per CLP as soon as its
last segment has gone by: CLP01 claim reference, CLP02 status, CLP03 charge, CLP04 paid, CLP05 patient
responsibility, CLP07 payer claim control number; the claim's CAS (group, CARC, amount for each of up to six
reasons), MOA remark codes (MOA03-MOA07) and per service line (SVC) its code and modifiers, charge, paid,
units, REF*6R line control number, DTM*472 date, CAS and LQ*HE remark codes (RARC).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from billing.x12.claims837 import x12_date
from billing.x12.segments import Delimiters, Segment

IMPLEMENTATION_835 = "005010X221A1"
GROUPS = {"CO", "PR", "OA", "PI", "CR"}


@dataclass
class Remittance:
    trace_number: str
    payer_identifier: str
    paid_total: Decimal
    paid_on: str | None
    payer_name: str = ""
    payer_id: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class Payment:
    claim_ref: str
    segment: int
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal | None
    payer_claim_number: str
    adjustments: list[dict] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    date_of_service: str | None = None
    errors: list[str] = field(default_factory=list)

    def all_adjustments(self) -> list[dict]:
        """The claim's adjustments, then each line's (group, CARC, amount), in the order received."""
        return [*self.adjustments, *(a for line in self.lines for a in line["adjustments"])]

    def all_remarks(self) -> list[str]:
        seen = dict.fromkeys(self.remarks)
        for line in self.lines:
            seen.update(dict.fromkeys(line["remarks"]))
        return list(seen)


def read_835(segments: Iterable[tuple[Delimiters, Segment]]) -> Iterator[Remittance | Payment]:
    """For each 835 transaction set: its Remittance (once BPR, TRN and the payer are read), then its Payments."""
    remit: Remittance | None = None
    header_sent = False
    payment: Payment | None = None
    line: dict | None = None
    in_835 = False
    for d, seg in segments:
        sid = seg.id
        if sid == "ST":
            in_835 = seg.get(1) == "835"
            remit, header_sent, payment, line = None, False, None, None
            continue
        if not in_835:
            continue
        if sid in ("CLP", "SE", "PLB", "LX") and payment is not None:
            yield payment
            payment, line = None, None
        if sid in ("LX", "CLP") and not header_sent:
            if remit is None:
                remit = Remittance(
                    "", "", Decimal(0), None, errors=[f"segment {seg.number} ({sid}): no BPR/TRN before it"]
                )
            yield remit
            header_sent = True
        if sid == "SE":
            if not header_sent and remit is not None:
                yield remit
            in_835 = False
            continue
        if sid == "BPR":
            remit = Remittance("", "", _money(seg.get(2)) or Decimal(0), _iso(seg.get(16)))
            if _money(seg.get(2)) is None:
                remit.errors.append(_at(seg, "Header", "BPR02", f"{seg.get(2)!r} is not an amount"))
        elif sid == "TRN" and remit is not None:
            remit.trace_number, remit.payer_identifier = seg.get(2), seg.get(3)
            if not seg.get(2):
                remit.errors.append(_at(seg, "Header", "TRN02", "the trace number is missing"))
        elif sid == "N1" and seg.get(1) == "PR" and remit is not None:
            remit.payer_name = seg.get(2)
            if seg.get(4):
                remit.payer_id = seg.get(4)
        elif sid == "REF" and seg.get(1) == "2U" and remit is not None and payment is None:
            remit.payer_id = seg.get(2)
        elif sid == "CLP":
            payment = _clp(seg)
        elif payment is None:
            continue
        elif sid == "CAS":
            target = line["adjustments"] if line is not None else payment.adjustments
            target.extend(_cas(seg, payment, "2110" if line is not None else "2100"))
        elif sid == "MOA":
            payment.remarks.extend(code for code in seg.elements[3:8] if code)
        elif sid == "SVC":
            line = _svc(seg, d, payment)
            payment.lines.append(line)
        elif sid == "DTM" and seg.get(1) in ("232", "472", "150"):
            on = _iso(seg.get(2))
            if line is not None and seg.get(1) in ("472", "150"):
                line["date_of_service"] = on
            elif line is None and seg.get(1) == "232":
                payment.date_of_service = on
        elif sid == "REF" and seg.get(1) == "6R" and line is not None:
            line["control"] = seg.get(2)
        elif sid == "LQ" and seg.get(1) == "HE" and line is not None:
            line["remarks"].append(seg.get(2))
    if payment is not None:
        yield payment


def _clp(seg: Segment) -> Payment:
    errors = []
    amounts = {}
    for element, position in (("CLP03", 3), ("CLP04", 4)):
        amounts[element] = _money(seg.get(position))
        if amounts[element] is None:
            errors.append(_at(seg, "2100", element, f"{seg.get(position)!r} is not an amount"))
    if not seg.get(1):
        errors.append(_at(seg, "2100", "CLP01", "the claim reference is missing"))
    return Payment(
        claim_ref=seg.get(1),
        segment=seg.number,
        status=seg.get(2),
        charge=amounts["CLP03"] if amounts["CLP03"] is not None else Decimal("0.00"),
        paid=amounts["CLP04"] if amounts["CLP04"] is not None else Decimal("0.00"),
        patient_responsibility=_money(seg.get(5)) if seg.get(5) else None,
        payer_claim_number=seg.get(7),
        errors=errors,
    )


def _cas(seg: Segment, payment: Payment, loop: str) -> list[dict]:
    group = seg.get(1)
    if group not in GROUPS:
        payment.errors.append(_at(seg, loop, "CAS01", f"group {group!r} is not CO, PR, OA, PI or CR"))
        return []
    out = []
    for position in range(2, 20, 3):
        reason = seg.get(position)
        if not reason:
            continue
        amount = _money(seg.get(position + 1))
        if amount is None:
            payment.errors.append(_at(seg, loop, f"CAS{position + 1:02d}", "the adjustment amount is not an amount"))
            continue
        out.append({"group": group, "carc": reason, "amount": str(amount)})
    return out


def _svc(seg: Segment, d: Delimiters, payment: Payment) -> dict:
    composite = seg.get(1).split(d.component)
    return {
        "code": composite[1] if len(composite) > 1 else "",
        "modifiers": [m for m in composite[2:6] if m],
        "charge": str(_money(seg.get(2)) or Decimal("0.00")),
        "paid": str(_money(seg.get(3)) or Decimal("0.00")),
        "units": seg.get(5) or "1",
        "adjustments": [],
        "remarks": [],
        "control": "",
        "date_of_service": None,
    }


def _money(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or abs(value) >= Decimal("10000000000"):
        return None
    return value.quantize(Decimal("0.01"))


def _iso(text: str) -> str | None:
    on = x12_date(text)
    return on.isoformat() if on else None


def _at(seg: Segment, loop: str, element: str, message: str) -> str:
    return f"segment {seg.number} ({seg.id}), loop {loop}, element {element}: {message}"
