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

# Modifiers CMS lists as NCCI-associated: they may bypass an edit whose modifier indicator is 1 (NCCI Policy Manual
# for Medicare Services, ch. I §E, "Modifiers and Modifier Indicators"; sure).
ANATOMIC_MODIFIERS = frozenset(
    ["E1", "E2", "E3", "E4", "FA", "TA", "LT", "RT", "LC", "LD", "LM", "RC", "RI"]
    + [f"F{i}" for i in range(1, 10)]
    + [f"T{i}" for i in range(1, 10)]
)
# 59 and its X{EPSU} subsets: a distinct procedural service. Never with an E/M service: a separately identifiable E/M
# takes modifier 25 (NCCI Policy Manual ch. I §E and ch. XI; CMS MLN fact sheet "Proper Use of Modifiers 59 & -X{EPSU}":
# "don't use modifier 59 or -X{EPSU} with an E/M service"; sure).
DISTINCT_SERVICE_MODIFIERS = frozenset(["59", "XE", "XS", "XP", "XU"])
# E/M modifiers (CPT: 24 unrelated E/M in a postoperative period, 25 significant separately identifiable E/M, 57
# decision for surgery): they show a separate E/M service, so they bypass an edit only on the E/M's own line (sure).
EM_MODIFIERS = frozenset(["24", "25", "57"])
NCCI_ASSOCIATED_MODIFIERS = (
    ANATOMIC_MODIFIERS | DISTINCT_SERVICE_MODIFIERS | frozenset(["24", "25", "57", "58", "78", "79", "27", "91"])
)
EM_REFERENCE = (
    "NCCI Policy Manual ch. I §E and CMS MLN fact sheet on modifiers 59 and X{EPSU}: not used on an E/M service "
    "(modifier 25 is the E/M's) [sure]"
)
ANATOMIC_REFERENCE = (
    "NCCI Policy Manual ch. I §E: anatomic modifiers bypass an edit only for procedures on different sites "
    "(e.g. LT on one code, RT on the other) [sure]"
)

# The site each anatomic modifier names: (side, structure). HCPCS Level II modifier descriptors (sure): E1-E4
# eyelids (E1/E2 left upper/lower, E3/E4 right), FA and F1-F4 left-hand digits, F5-F9 right-hand digits, TA and
# T1-T4 left-foot digits, T5-T9 right-foot digits, LC/LD/LM left coronary arteries, RC right coronary artery, RI
# ramus intermedius (a branch of the left main: left side, likely).
ANATOMIC_SITES: dict[str, tuple[str, str]] = {
    "LT": ("L", ""),
    "RT": ("R", ""),
    "E1": ("L", "E1"),
    "E2": ("L", "E2"),
    "E3": ("R", "E3"),
    "E4": ("R", "E4"),
    "FA": ("L", "FA"),
    **{f"F{i}": ("L" if i <= 4 else "R", f"F{i}") for i in range(1, 10)},
    "TA": ("L", "TA"),
    **{f"T{i}": ("L" if i <= 4 else "R", f"T{i}") for i in range(1, 10)},
    "LC": ("L", "LC"),
    "LD": ("L", "LD"),
    "LM": ("L", "LM"),
    "RI": ("L", "RI"),
    "RC": ("R", "RC"),
}


def is_em_code(code: str) -> bool:
    """An evaluation and management code: CPT 99202-99499 (the E/M section of CPT; sure)."""
    return len(code) == 5 and code.isdigit() and "99202" <= code <= "99499"


def _different_sites(a: str, b: str) -> bool:
    """Two anatomic modifiers name different sites: LT vs RT, two different digits, eyelids or arteries. A side
    (LT/RT) and a digit, eyelid or artery on that same side overlap."""
    if a == b:
        return False
    side_a, part_a = ANATOMIC_SITES.get(a, ("", a))
    side_b, part_b = ANATOMIC_SITES.get(b, ("", b))
    if not part_a or not part_b:  # one is a whole side
        return bool(side_a and side_b and side_a != side_b)
    return part_a != part_b


def _anatomic(snapshot: CodingSnapshot, modifiers: Iterable[str]) -> list[str]:
    out = []
    for modifier in modifiers:
        if modifier in ANATOMIC_MODIFIERS or (info := snapshot.modifier(modifier)) is not None and info.anatomic:
            out.append(modifier)
    return out


def anatomic_bypass(snapshot: CodingSnapshot, first: ClaimLine, second: ClaimLine) -> list[str]:
    """The anatomic modifiers that bypass an edit between two lines: both lines carry one and every pair names
    different sites (the same modifier on both, or one line without any, is no bypass)."""
    a = _anatomic(snapshot, first.modifiers)
    b = _anatomic(snapshot, second.modifiers)
    if a and b and all(_different_sites(x, y) for x in a for y in b):
        return list(dict.fromkeys([*a, *b]))
    return []


def bypass_modifiers(
    snapshot: CodingSnapshot, modifiers: Iterable[str], em_pair: bool = False, code: str | None = None
) -> list[str]:
    """The non-anatomic modifiers among ``modifiers`` that may bypass a PTP edit with modifier indicator 1.
    ``em_pair``: one code of the edit is an E/M service, where 59/X{EPSU} are not used (the E/M's own modifier 25
    shows a separately identifiable visit). Anatomic modifiers are judged between the two lines
    (``anatomic_bypass``). ``code``: the line's code, when known; E/M modifiers (24, 25, 57) count only on an E/M."""
    out = []
    for modifier in modifiers:
        info = None
        if modifier in ANATOMIC_MODIFIERS:
            continue
        if modifier not in NCCI_ASSOCIATED_MODIFIERS:
            info = snapshot.modifier(modifier)
            if info is None or info.anatomic or not info.ncci_associated:
                continue
        if modifier in DISTINCT_SERVICE_MODIFIERS and em_pair:
            continue
        if modifier in EM_MODIFIERS and code is not None and not is_em_code(code):
            continue
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
        em_pair = is_em_code(edit.column1) or is_em_code(edit.column2)
        bypass = bypass_modifiers(snapshot, line.modifiers, em_pair, line.code)
        for other in column1:
            bypass = bypass or bypass_modifiers(snapshot, other.modifiers, em_pair, other.code)
            bypass = bypass or anatomic_bypass(snapshot, other, line)
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
        detail, notes = "no line carries an NCCI-associated modifier that bypasses it", []
        em_codes = [c for c in (edit.column1, edit.column2) if is_em_code(c)]
        if em_codes and any(DISTINCT_SERVICE_MODIFIERS & set(c.modifiers) for c in (*column1, line)):
            notes.append(EM_REFERENCE)
            detail += (
                f"; 59 and X{{EPSU}} do not bypass an edit with an E/M service ({and_list(em_codes)}): modifier 25 "
                "on the E/M shows a separately identifiable visit"
            )
        anatomic = [m for c in (*column1, line) for m in _anatomic(snapshot, c.modifiers)]
        if anatomic:
            notes.append(ANATOMIC_REFERENCE)
            detail += (
                f"; the anatomic modifiers ({and_list(dict.fromkeys(anatomic))}) do not name different sites on "
                "the two codes"
            )
        return self.finding(
            f"{pair}: this pair has modifier indicator 1 and {detail}.",
            line=line.number,
            codes=codes,
            reference="; ".join([reference, *notes]),
            suggestion=f"Remove {edit.column2}, or, only if the record shows a separate site, session or practitioner, "
            f"add the fitting modifier (XS, XE, XP, XU or 59 on a procedure, 25 on an E/M; or anatomic modifiers "
            f"naming the different sites on both lines) to the {edit.column2} line.",
        )
