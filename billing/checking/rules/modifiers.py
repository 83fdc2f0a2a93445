"""Modifiers: known, in effect on the line's date, and applicable to the line's code.

CPT (Level I) modifiers such as 26, 50 or 59 are AMA content that the HCPCS file does not list: a numeric
modifier is only called unknown when the project's modifier list (which has them) is in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from billing.checking.claim import PROFESSIONAL, ClaimLine
from billing.checking.context import CheckContext
from billing.checking.findings import WARNING, Finding
from billing.checking.rules.base import Rule, release_reference, span
from codes.snapshot import HCPCS, MODIFIERS, PFS_RVU, CodingSnapshot, in_effect

BILATERAL_MODIFIERS = ("50", "LT", "RT")
COMPONENT_MODIFIERS = ("26", "TC")

# PFS bilateral surgery indicator (PPRRVU BILAT SURG).
BILATERAL_INDICATOR = {
    "0": "no bilateral payment adjustment",
    "1": "bilateral adjustment applies (150%)",
    "2": "already priced as a bilateral procedure",
    "3": "priced per side (100% each side)",
    "9": "the bilateral concept does not apply",
}
# PFS professional/technical component indicator (PPRRVU PCTC IND).
PCTC_INDICATOR = {
    "0": "a physician service with no professional/technical split",
    "1": "a test with professional and technical components",
    "2": "a professional-component-only code",
    "3": "a technical-component-only code",
    "4": "a global test only code (its components have their own codes)",
    "5": "an incident-to code",
    "6": "a laboratory physician interpretation code",
    "7": "a physical therapy service",
    "8": "a physician interpretation code",
    "9": "a code to which the component concept does not apply",
}
# Facility places of service where the technical component of a service belongs to the facility: hospitals
# (19, 21, 22, 23), ASC (24), military treatment facility (26), SNF (31), hospice (34), psychiatric and rehabilitation
# facilities (51, 52, 53, 56, 61) - the PFS facility settings (CMS PFS place-of-service list; LAYOUTS 6.1) without
# telehealth (02) and ambulance (41, 42). Medicare Claims Processing Manual (Pub 100-04) ch. 13 §20 and ch. 12
# §20.4.2: in a facility setting the facility bills the technical component; the physician bills the professional
# component with modifier 26 [likely].
FACILITY_TC_PLACES = frozenset(["19", "21", "22", "23", "24", "26", "31", "34", "51", "52", "53", "56", "61"])
TC_FACILITY_REFERENCE = (
    "Medicare Claims Processing Manual (Pub 100-04) ch. 13 §20 and ch. 12 §20.4.2: in a facility the technical "
    "component is the facility's [likely]"
)
_BOTH_SIDES = re.compile(r"\b(bilateral|both sides)\b", re.IGNORECASE)


def modifier_source_in_force(snapshot: CodingSnapshot, modifier: str) -> bool:
    """Whether a source that would list this modifier covers the date (numeric CPT modifiers need our list)."""
    if snapshot.release(MODIFIERS) is not None:
        return True
    return snapshot.release(HCPCS) is not None and not modifier.isdigit()


def line_modifiers(ctx: CheckContext) -> Iterator[tuple[ClaimLine, CodingSnapshot, str]]:
    """Each modifier of each line, with the coding in force on the line's date."""
    for line in ctx.claim.lines:
        if not line.modifiers:
            continue
        snapshot = ctx.line_snapshot(line)
        for modifier in line.modifiers:
            yield line, snapshot, modifier


class ModifierUnknown(Rule):
    """A modifier on the line is not a CPT or HCPCS modifier."""

    id = "MODIFIER_UNKNOWN"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line, snapshot, modifier in line_modifiers(ctx):
            if not modifier_source_in_force(snapshot, modifier) or snapshot.modifier(modifier) is not None:
                continue
            refs = [release_reference(ref) for kind in (MODIFIERS, HCPCS) if (ref := snapshot.release(kind))]
            shape = "" if len(modifier) == 2 else " A modifier has exactly two characters."
            yield self.finding(
                f"{modifier} on line {line.number} ({line.code}) is not a modifier.{shape}",
                line=line.number,
                codes=(line.code, modifier),
                reference="Searched: " + "; ".join(refs),
                suggestion=f"Remove {modifier} or replace it with the modifier the record supports.",
            )


class ModifierNotInEffect(Rule):
    """A modifier on the line was not valid on the date of service (added later, or terminated)."""

    id = "MODIFIER_NOT_IN_EFFECT"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line, snapshot, modifier in line_modifiers(ctx):
            on = ctx.line_date(line)
            info = snapshot.modifier(modifier)
            if info is None or in_effect(on, info.effective_from, info.effective_to):
                continue
            if info.effective_from and on < info.effective_from:
                when = f"it takes effect on {info.effective_from.isoformat()}"
            else:
                when = f"it was valid {span(info.effective_from, info.effective_to)}"
            yield self.finding(
                f"{modifier} on line {line.number} ({line.code}) is not valid on {on.isoformat()}: {when}.",
                line=line.number,
                codes=(line.code, modifier),
                reference=release_reference(info.release),
                suggestion=f"Remove {modifier}; use the modifier in effect on {on.isoformat()} if one applies.",
            )


class ModifierNotApplicable(Rule):
    """A modifier does not fit the line's code: a bilateral or side modifier (50, LT, RT) on a code that already
    covers both sides or has no bilateral concept, or a 26/TC component modifier on a code without components."""

    id = "MODIFIER_NOT_APPLICABLE"
    severity = WARNING

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line in ctx.claim.lines:
            if not any(m in BILATERAL_MODIFIERS or m in COMPONENT_MODIFIERS for m in line.modifiers):
                continue
            snapshot = ctx.line_snapshot(line)
            for modifier in line.modifiers:
                if modifier in BILATERAL_MODIFIERS:
                    yield from self._bilateral(snapshot, line, modifier)
                elif modifier in COMPONENT_MODIFIERS:
                    yield from self._component(snapshot, line, modifier)
                    if modifier == "TC":
                        yield from self._technical_in_facility(ctx, line)

    def _bilateral(self, snapshot: CodingSnapshot, line: ClaimLine, modifier: str) -> Iterable[Finding]:
        both_sides = next(
            (info for info in snapshot.procedure_sources(line.code) if _BOTH_SIDES.search(info.description or "")),
            None,
        )
        if both_sides is not None:
            what = "our summary" if both_sides.description_is_summary else "its description"
            yield self.finding(
                f"{modifier} on line {line.number}: {line.code} already covers one or both sides ({what} says so).",
                line=line.number,
                codes=(line.code, modifier),
                reference=f"{release_reference(both_sides.release)}: description of {line.code}",
                suggestion=f"Remove {modifier} from {line.code} and bill it once.",
            )
            return
        rvu = snapshot.rvu(line.code)
        if rvu is None or rvu.bilat_surg not in ("2", "9"):
            return
        yield self.finding(
            f"{modifier} on line {line.number}: the fee schedule's bilateral indicator for {line.code} is "
            f"{rvu.bilat_surg} ({BILATERAL_INDICATOR[rvu.bilat_surg]}).",
            line=line.number,
            codes=(line.code, modifier),
            reference=f"{release_reference(rvu.release)}: {line.code} bilateral surgery indicator {rvu.bilat_surg}",
            suggestion=f"Remove {modifier} from {line.code}; bill the code once.",
        )

    def _technical_in_facility(self, ctx: CheckContext, line: ClaimLine) -> Iterable[Finding]:
        """TC on a physician's (professional) claim for a facility place of service (issue 13 point 7)."""
        place = ctx.claim.place_of_service
        if ctx.claim.claim_type != PROFESSIONAL or place not in FACILITY_TC_PLACES:
            return
        yield self.finding(
            f"TC on line {line.number}: place of service {place} is a facility, whose technical component of "
            f"{line.code} is billed by the facility, not on the physician's claim.",
            line=line.number,
            codes=(line.code, "TC", place),
            reference=TC_FACILITY_REFERENCE,
            suggestion=f"Bill the physician's part with modifier 26 instead of TC (if {line.code} has "
            "components), and leave the technical component to the facility; check the place of service.",
        )

    def _component(self, snapshot: CodingSnapshot, line: ClaimLine, modifier: str) -> Iterable[Finding]:
        if snapshot.release(PFS_RVU) is None:
            return
        whole = snapshot.rvu(line.code)
        if whole is None or snapshot.rvu(line.code, modifier) is not None:
            return
        meaning = PCTC_INDICATOR.get(whole.pctc_indicator, "a code without professional/technical components")
        part = "professional" if modifier == "26" else "technical"
        yield self.finding(
            f"{modifier} on line {line.number}: {line.code} has no separate {part} component in the fee schedule "
            f"(PC/TC indicator {whole.pctc_indicator}: {meaning}).",
            line=line.number,
            codes=(line.code, modifier),
            reference=f"{release_reference(whole.release)}: {line.code} PC/TC indicator {whole.pctc_indicator}, "
            f"no {line.code}-{modifier} row",
            suggestion=f"Remove {modifier} from {line.code}.",
        )
