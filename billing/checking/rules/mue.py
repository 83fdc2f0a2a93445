"""Medically unlikely edits (MUEs): the most units of a code a provider reports for one patient on one day.

MUE adjudication indicator (MAI) 1 is a line edit: each line is compared with the MUE. MAI 2 (policy) and 3
(clinical) are date-of-service edits: the units of every line with the code on the date are added up.
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.checking.context import CheckContext
from billing.checking.findings import Finding
from billing.checking.rules.base import Rule, and_list, units
from codes.snapshot import MueInfo

MAI_TEXT = {1: "line edit", 2: "date of service edit: policy", 3: "date of service edit: clinical"}


def mue_reference(mue: MueInfo) -> str:
    rationale = f", rationale: {mue.rationale}" if mue.rationale else ""
    mai = MAI_TEXT.get(mue.adjudication_indicator, "adjudication indicator unknown")
    return (
        f"{mue.release.label}: {mue.code} MUE {mue.value}, adjudication indicator "
        f"{mue.adjudication_indicator} ({mai}){rationale}"
    )


class UnitsExceedMue(Rule):
    """The units of a code are above its medically unlikely edit (MUE): the payer denies the units above it."""

    id = "UNITS_EXCEED_MUE"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for on, lines in sorted(ctx.lines_by_date.items()):
            snapshot = ctx.snapshot(on)
            by_code: dict[str, list] = {}
            for line in lines:
                by_code.setdefault(line.code, []).append(line)
            for code, same in by_code.items():
                mue = snapshot.mue(code, ctx.claim.claim_type)
                if mue is None:
                    continue
                if mue.adjudication_indicator == 1:
                    for line in same:
                        if line.units > mue.value:
                            yield self.finding(
                                f"Line {line.number} reports {units(line.units)} of {code}; the MUE is {mue.value} "
                                "per line.",
                                line=line.number,
                                codes=(code,),
                                reference=mue_reference(mue),
                                suggestion=f"Report at most {units(mue.value)} on the line; if more were medically "
                                "necessary, put them on separate lines with the modifier that shows why (e.g. "
                                "76, 91 or an anatomic modifier) and keep the record.",
                            )
                    continue
                total = sum(line.units for line in same)
                if total <= mue.value:
                    continue
                numbers = and_list(str(line.number) for line in same)
                if mue.adjudication_indicator == 2:
                    suggestion = (
                        f"Report at most {units(mue.value)} of {code} for {on.isoformat()}: this policy edit is not "
                        "paid above the MUE, even on appeal."
                    )
                else:
                    suggestion = (
                        f"Report at most {units(mue.value)} of {code} for {on.isoformat()}, unless the record shows "
                        "the extra units were medically necessary (units above the MUE are denied and can only "
                        "be paid on appeal with that record)."
                    )
                yield self.finding(
                    f"{units(total)} of {code} on {on.isoformat()} (line{'s' if len(same) > 1 else ''} {numbers}); "
                    f"the MUE is {mue.value} per date of service.",
                    line=same[0].number,
                    codes=(code,),
                    reference=mue_reference(mue),
                    suggestion=suggestion,
                )
