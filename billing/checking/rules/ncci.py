"""NCCI procedure-to-procedure (PTP) edits: two codes billed on the same day that CMS does not pay together.

The edits come from the practitioner table on professional claims and the outpatient-hospital table on
institutional ones. A pair applies by its own effective and deletion dates (the files are cumulative).
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.checking.claim import ClaimLine
from billing.checking.context import CheckContext
from billing.checking.findings import INFO, Finding
from billing.checking.rules.base import Rule, and_list
from codes.snapshot import CodingSnapshot, PtpEdit

# Modifiers CMS lists as NCCI-associated: they may bypass an edit whose modifier indicator is 1.
ANATOMIC_MODIFIERS = frozenset(
    ["E1", "E2", "E3", "E4", "FA", "TA", "LT", "RT", "LC", "LD", "LM", "RC", "RI"]
    + [f"F{i}" for i in range(1, 10)]
    + [f"T{i}" for i in range(1, 10)]
)
NCCI_ASSOCIATED_MODIFIERS = ANATOMIC_MODIFIERS | frozenset(
    ["59", "XE", "XS", "XP", "XU", "24", "25", "57", "58", "78", "79", "27", "91"]
)


def bypass_modifiers(snapshot: CodingSnapshot, modifiers: Iterable[str]) -> list[str]:
    """The modifiers among ``modifiers`` that may bypass a PTP edit with modifier indicator 1."""
    out = []
    for modifier in modifiers:
        if modifier in NCCI_ASSOCIATED_MODIFIERS:
            out.append(modifier)
            continue
        info = snapshot.modifier(modifier)
        if info is not None and (info.ncci_associated or info.anatomic):
            out.append(modifier)
    return out


def edit_reference(edit: PtpEdit) -> str:
    """``NCCI practitioner PTP edits v32.2 (2026 Q3): column 1 0001U, column 2 0030U, modifier indicator 1; ...``"""
    deleted = f", deleted after {edit.deleted.isoformat()}" if edit.deleted else ""
    rationale = f"; rationale: {edit.rationale}" if edit.rationale else ""
    return (
        f"{edit.release.label}: column 1 {edit.column1}, column 2 {edit.column2}, modifier indicator "
        f"{edit.modifier_indicator}; edit in effect from {edit.effective.isoformat()}{deleted}{rationale}"
    )


class NcciPtpConflict(Rule):
    """Two codes billed on the same date of service form an NCCI procedure-to-procedure pair: the column 2 code
    is not paid with the column 1 code unless a modifier shows a separate, distinct service that the edit allows."""

    id = "NCCI_PTP_CONFLICT"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for on, lines in sorted(ctx.lines_by_date.items()):
            if len(lines) < 2:
                continue
            codes = {line.code for line in lines}
            if len(codes) < 2:
                continue
            snapshot = ctx.snapshot(on)
            edits = snapshot.ptp_edits(codes, ctx.claim.claim_type)
            for edit in sorted(edits, key=lambda e: (e.column1, e.column2)):
                if edit.modifier_indicator not in ("0", "1"):
                    continue  # 9: no longer applies
                column1 = [line for line in lines if line.code == edit.column1]
                for line in lines:
                    if line.code == edit.column2:
                        yield self._finding(snapshot, edit, column1, line)

    def _finding(self, snapshot: CodingSnapshot, edit: PtpEdit, column1: list[ClaimLine], line: ClaimLine) -> Finding:
        column1_lines = and_list(str(c.number) for c in column1)
        pair = f"{edit.column2} (line {line.number}) with {edit.column1} (line {column1_lines})"
        codes = (edit.column1, edit.column2)
        reference = edit_reference(edit)
        if edit.modifier_indicator == "0":
            return self.finding(
                f"{pair}: this pair has modifier indicator 0, so no modifier can bypass it.",
                line=line.number,
                codes=codes,
                reference=reference,
                suggestion=f"Remove {edit.column2}: it is not paid with {edit.column1} on the same day.",
            )
        bypass = bypass_modifiers(snapshot, line.modifiers)
        if not bypass:
            bypass = bypass_modifiers(snapshot, [m for c in column1 for m in c.modifiers])
        if bypass:
            return self.finding(
                f"{pair}: modifier {and_list(bypass)} bypasses the edit (modifier indicator 1).",
                severity=INFO,
                line=line.number,
                codes=codes,
                reference=reference,
                suggestion="Keep the record showing a separate site, session, practitioner or unusual service; "
                "payers audit these modifiers.",
            )
        return self.finding(
            f"{pair}: this pair has modifier indicator 1 and no line carries an NCCI-associated modifier.",
            line=line.number,
            codes=codes,
            reference=reference,
            suggestion=f"Remove {edit.column2}, or, only if the record shows a separate site, session or practitioner, "
            f"add the fitting modifier (XS, XE, XP, XU or 59; or an anatomic modifier) to the {edit.column2} line.",
        )
