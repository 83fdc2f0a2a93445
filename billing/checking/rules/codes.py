"""Procedure codes (CPT and HCPCS Level II): known, and in effect on the line's date of service.

A code is known when any loaded source that lists procedure codes has it (contract, "Dates"). Where no
procedure-code source covers the date, these rules stay silent and CODING_NOT_LOADED says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.checking.context import CheckContext
from billing.checking.findings import Finding
from billing.checking.rules.base import Rule, release_reference, span
from codes.snapshot import NOT_IN_EFFECT, PROCEDURE_KINDS, CodingSnapshot, ReleaseRef


class ProcedureCodeUnknown(Rule):
    """The procedure code is not a CPT or HCPCS code in any loaded code set."""

    id = "PROCEDURE_CODE_UNKNOWN"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line in ctx.claim.lines:
            snapshot = ctx.line_snapshot(line)
            if not snapshot.procedures_loaded():
                continue
            if snapshot.procedure_sources(line.code) or snapshot.procedure_elsewhere(line.code):
                continue
            sources = sorted({release_reference(ref) for ref in _procedure_refs(snapshot)})
            yield self.finding(
                f"{line.code_as_entered or line.code} was not found.",
                line=line.number,
                codes=(line.code,),
                reference="Searched: " + "; ".join(sources),
                suggestion="Check the code for typing errors (five characters, e.g. 0275T or G0276) and use the "
                "code the procedure note supports.",
            )


class ProcedureCodeNotInEffect(Rule):
    """The procedure code exists but is not valid on the line's date of service."""

    id = "PROCEDURE_CODE_NOT_IN_EFFECT"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        """A verdict only from a release in force on the date or from the code's own dates (contract, "Dates";
        issue 13 point 1): where no release that lists the code covers the date, CODING_NOT_LOADED says so."""
        for line in ctx.claim.lines:
            snapshot = ctx.line_snapshot(line)
            answer = snapshot.procedure_answer(line.code)
            if answer.status != NOT_IN_EFFECT:
                continue
            info = answer.info
            on = ctx.line_date(line)
            if info.effective_from and on < info.effective_from:
                when = f"It takes effect on {info.effective_from.isoformat()}"
            elif info.effective_to and on > info.effective_to:
                when = f"It was valid {span(info.effective_from, info.effective_to)}"
            else:
                when = f"It is listed {span(info.effective_from, info.effective_to)}"
            detail = f"{line.code} is not valid on {on.isoformat()}. {when}."
            if info.replacement:
                detail += f" The source names {info.replacement} as its replacement."
                suggestion = f"Use {info.replacement} (check it fits the service) instead of {line.code}."
            else:
                suggestion = f"Use the code in effect on {on.isoformat()} for this service."
            yield self.finding(
                detail,
                line=line.number,
                codes=(line.code, info.replacement) if info.replacement else (line.code,),
                reference=release_reference(info.release),
                suggestion=suggestion,
            )


def _procedure_refs(snapshot: CodingSnapshot) -> list[ReleaseRef]:
    """The procedure-code releases in force on the snapshot's date."""
    return [ref for kind in PROCEDURE_KINDS if (ref := snapshot.release(kind)) is not None]
