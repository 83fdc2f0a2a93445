"""The Medicare physician fee schedule (PFS) status of each code on a professional claim.

Status R or C is worth knowing (coverage is restricted, or the MAC sets the price); B, E, I, N, P and X mean
the PFS does not pay the code as billed. A code whose R/C status comes without RVUs is "carrier priced":
there is no national amount, and a billing guide must never show it as $0.
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.checking.claim import INSTITUTIONAL
from billing.checking.context import CheckContext
from billing.checking.findings import INFO, WARNING, Finding
from billing.checking.rules.base import Rule, release_reference
from codes.snapshot import RvuInfo

INFO_STATUSES = {
    "R": "restricted coverage: paid only in special circumstances set by Medicare policy",
    "C": "carrier priced: the Medicare contractor sets the payment",
}
WARNING_STATUSES = {
    "B": "bundled: paid as part of another service, never on its own",
    "E": "excluded from the fee schedule by regulation",
    "I": "not valid for Medicare: Medicare uses another code for this service",
    "N": "not covered by Medicare",
    "P": "bundled or excluded: not paid separately under the fee schedule",
    "X": "excluded by statute: not a physician service Medicare pays under the fee schedule",
}
STATUS_SUGGESTION = {
    "B": "Do not bill {code} on its own: it is paid within the related service.",
    "E": "Bill {code} only to a payer that pays it; Medicare pays it outside the physician fee schedule, if at all.",
    "I": "Use the code Medicare recognises for this service instead of {code}.",
    "N": "For Medicare, give the patient an ABN before the service and bill with the fitting modifier (GA or GY), "
    "or bill the patient or another payer.",
    "P": "Do not bill {code} separately to Medicare.",
    "X": "Medicare pays {code}, if at all, under another fee schedule (e.g. the lab or ambulance one): check how "
    "it is billed.",
}


def has_rvus(rvu: RvuInfo) -> bool:
    """Whether the row carries national RVUs (any non-zero work, practice expense or malpractice RVU)."""
    values = (rvu.work_rvu, rvu.pe_nonfacility_rvu, rvu.pe_facility_rvu, rvu.mp_rvu)
    return any(value for value in values if value is not None)


class FeeScheduleStatus(Rule):
    """The Medicare physician fee schedule gives this code a status that affects how it is paid."""

    id = "FEE_SCHEDULE_STATUS"
    severity = WARNING

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.claim.claim_type == INSTITUTIONAL:
            return
        seen: set[tuple] = set()
        for line in ctx.claim.lines:
            snapshot = ctx.line_snapshot(line)
            rvu = snapshot.rvu(line.code)
            if rvu is None or (rvu.status not in INFO_STATUSES and rvu.status not in WARNING_STATUSES):
                continue
            key = (line.code, rvu.release)
            if key in seen:
                continue
            seen.add(key)
            text = snapshot.memo.get((self.id, line.code))  # the same words for every claim of the date
            if text is None:
                text = snapshot.memo[(self.id, line.code)] = self._text(line.code, rvu)
            severity, detail, reference, suggestion = text
            yield self.finding(
                detail,
                severity=severity,
                line=line.number,
                codes=(line.code,),
                reference=reference,
                suggestion=suggestion,
            )

    @staticmethod
    def _text(code: str, rvu: RvuInfo) -> tuple[str | None, str, str, str]:
        """(severity, detail, reference, suggestion) of the finding for ``code`` with this status."""
        reference = f"{release_reference(rvu.release)}: {code} status {rvu.status}"
        if rvu.status in INFO_STATUSES:
            detail = f"{code} has status {rvu.status} ({INFO_STATUSES[rvu.status]})."
            if not has_rvus(rvu):
                detail += " It has no national RVUs: it is carrier priced, with no national amount (not $0)."
                suggestion = f"Expect the Medicare contractor to price {code}; keep the operative note ready."
            else:
                suggestion = f"Check that the payer's coverage conditions for {code} are met."
            return INFO, detail, reference, suggestion
        return (
            None,
            f"{code} has status {rvu.status} ({WARNING_STATUSES[rvu.status]}).",
            reference,
            STATUS_SUGGESTION[rvu.status].format(code=code),
        )
