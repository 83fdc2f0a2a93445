"""Whether the coding the product holds covers the claim's dates at all.

Every other rule stays silent where its data is missing (an unknown code is only reported when a release
that would list it is in force), so this rule says, date by date, which checks could not be made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from billing.checking.claim import INSTITUTIONAL
from billing.checking.context import CheckContext
from billing.checking.findings import INFO, WARNING, Finding
from billing.checking.rules.base import Rule, and_list, or_list, release_reference, span
from codes.snapshot import (
    HCPCS,
    ICD10CM,
    KIND_LABELS,
    MODIFIERS,
    MUE_HOSPITAL,
    MUE_PRACTITIONER,
    NOT_LOADED,
    PFS_RVU,
    POS,
    PROCEDURE_KINDS,
    PTP_HOSPITAL,
    PTP_PRACTITIONER,
    CodingSnapshot,
)


def fiscal_year(on: date) -> int:
    """The ICD-10-CM fiscal year of a date: FY2026 runs from 2025-10-01 to 2026-09-30."""
    return on.year + 1 if on.month >= 10 else on.year


def quarter(on: date) -> str:
    return f"{on.year} Q{(on.month - 1) // 3 + 1}"


class CodingNotLoaded(Rule):
    """The coding the product holds does not cover this date of service, so some checks could not be made."""

    id = "CODING_NOT_LOADED"
    severity = WARNING

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        claim = ctx.claim
        diagnosis_dates = {on for dates in ctx.diagnosis_dates for on in dates}
        ptp_kind = PTP_HOSPITAL if claim.claim_type == INSTITUTIONAL else PTP_PRACTITIONER
        mue_kind = MUE_HOSPITAL if claim.claim_type == INSTITUTIONAL else MUE_PRACTITIONER
        for on, snapshot in sorted(ctx.snapshots.items()):
            lines = ctx.lines_by_date.get(on, ())
            if on in diagnosis_dates and snapshot.release(ICD10CM) is None:
                yield self._missing(
                    snapshot,
                    on,
                    (ICD10CM,),
                    WARNING,
                    lambda on: (
                        f"No ICD-10-CM release covers {on.isoformat()}: the diagnosis codes cannot be checked.",
                        f"Load the ICD-10-CM release for fiscal year {fiscal_year(on)} "
                        "(import_codeset icd10cm), then check the claim again.",
                    ),
                )
            if not lines:
                continue
            if not snapshot.procedures_loaded():
                yield self._missing(
                    snapshot,
                    on,
                    PROCEDURE_KINDS,
                    WARNING,
                    lambda on: (
                        f"No procedure-code release (HCPCS, CPT, fee schedule or the project's code list) covers "
                        f"{on.isoformat()}: the procedure codes cannot be checked.",
                        f"Load a procedure-code source in force on {on.isoformat()}, then check the claim again.",
                    ),
                )
            else:
                yield from self._codes_not_covered(snapshot, lines)
            if any(line.modifiers for line in lines) and not (snapshot.release(MODIFIERS) or snapshot.release(HCPCS)):
                yield self._missing(
                    snapshot,
                    on,
                    (MODIFIERS, HCPCS),
                    INFO,
                    lambda on: (
                        f"No modifier list covers {on.isoformat()}: modifiers were not checked.",
                        "Load the modifier list or a HCPCS release for the date to check modifiers.",
                    ),
                )
            if len({line.code for line in lines}) > 1 and snapshot.release(ptp_kind) is None:
                yield self._missing(
                    snapshot,
                    on,
                    (ptp_kind,),
                    INFO,
                    lambda on: (
                        f"No NCCI procedure-to-procedure edits cover {on.isoformat()}: code pairs were not checked.",
                        f"Load the NCCI PTP edits for {quarter(on)} to check code pairs.",
                    ),
                )
            if snapshot.release(mue_kind) is None:
                yield self._missing(
                    snapshot,
                    on,
                    (mue_kind,),
                    INFO,
                    lambda on: (
                        f"No MUE table covers {on.isoformat()}: units were not checked against the MUEs.",
                        f"Load the MUE table for {quarter(on)} to check units.",
                    ),
                )
            if claim.claim_type != INSTITUTIONAL and snapshot.release(PFS_RVU) is None:
                yield self._missing(
                    snapshot,
                    on,
                    (PFS_RVU,),
                    INFO,
                    lambda on: (
                        f"No physician fee schedule covers {on.isoformat()}: the fee-schedule status and the "
                        "bilateral and 26/TC modifier checks were skipped.",
                        f"Load the PFS relative value file for {on.year} to run these checks.",
                    ),
                )
        snapshot = ctx.claim_snapshot()
        if snapshot.release(POS) is None:
            yield self._missing(
                snapshot,
                claim.date_of_service,
                (POS,),
                INFO,
                lambda on: (
                    f"No place-of-service list covers {claim.date_of_service.isoformat()}: the place of service "
                    "was not checked.",
                    "Load the CMS place-of-service list to check it.",
                ),
            )

    def _codes_not_covered(self, snapshot: CodingSnapshot, lines) -> Iterable[Finding]:
        """Codes listed only by releases that do not cover the date (e.g. J1040 in HCPCS 2020 on a 2026 claim):
        no verdict on them, and which code set to load. Issue 13 point 1; contract "Dates": a verdict on a code
        is only given by a release that covers the date (sure)."""
        on = snapshot.on
        for line in lines:
            answer = snapshot.procedure_answer(line.code)
            if answer.status != NOT_LOADED or answer.info is None:
                continue
            listed = answer.info.release
            kinds = _kinds_text(answer.kinds)
            in_force = [ref for kind in answer.kinds if (ref := snapshot.release(kind)) is not None]
            if len(in_force) == len(answer.kinds):
                yield self.finding(
                    f"{line.code} (line {line.number}) is not in {and_list(r.label for r in in_force)}, in force on "
                    f"{on.isoformat()}; {listed.label} ({span(listed.effective_from, listed.effective_to)}) lists it "
                    f"without dates of its own that settle {on.isoformat()}: whether it is valid then could not be "
                    "checked (the release in force may be partial).",
                    severity=WARNING,
                    line=line.number,
                    codes=(line.code,),
                    reference=f"{'; '.join(release_reference(r) for r in in_force)}; {release_reference(listed)}",
                    suggestion=f"Check {line.code} in the complete {kinds} file for {on.year}, or use the code in "
                    f"effect on {on.isoformat()}.",
                )
                continue
            yield self.finding(
                f"{line.code} (line {line.number}) is listed only by {listed.label} "
                f"({span(listed.effective_from, listed.effective_to)}), which does not cover {on.isoformat()}, and "
                f"the code's own dates do not settle it: whether it is valid on {on.isoformat()} could not be "
                f"checked. {_loaded_elsewhere(snapshot, answer.kinds)}",
                severity=WARNING,
                line=line.number,
                codes=(line.code,),
                reference=f"Coding in force on {on.isoformat()}: no {kinds} release covers this date",
                suggestion=f"Load the {kinds} release in force on {on.isoformat()}, then check the claim again.",
            )

    def _missing(
        self,
        snapshot: CodingSnapshot,
        on: date,
        kinds: Sequence[str],
        severity: str,
        text: Callable[[date], tuple[str, str]],
    ) -> Finding:
        """The finding that ``kinds`` are not loaded on ``on`` (the snapshot's date); ``text(on)``: its (detail,
        suggestion). It depends on the snapshot and the date alone, so it is made once a snapshot (every claim of
        the date has it)."""
        key = (self.id, on, tuple(kinds), severity)
        found = snapshot.memo.get(key)
        if found is None:
            detail, suggestion = text(on)
            found = snapshot.memo[key] = self.finding(
                f"{detail} {_loaded_elsewhere(snapshot, kinds)}",
                severity=severity,
                reference=f"Coding in force on {snapshot.on.isoformat()}: {_kinds_text(kinds)} not loaded for this "
                "date",
                suggestion=suggestion,
            )
        return found


def _kinds_text(kinds: Sequence[str]) -> str:
    return and_list(KIND_LABELS.get(kind, kind) for kind in kinds)


def _loaded_elsewhere(snapshot: CodingSnapshot, kinds: Sequence[str]) -> str:
    """Which releases of these kinds are loaded, for other dates: so staff see what is missing."""
    refs = [data.ref for kind in kinds for data in snapshot.releases.get(kind, ())]
    if not refs:
        return f"No {or_list(KIND_LABELS.get(kind, kind) for kind in kinds)} release is loaded at all."
    refs.sort(key=lambda ref: ref.effective_from)
    shown = [f"{ref.label} ({span(ref.effective_from, ref.effective_to)})" for ref in refs[-4:]]
    more = f" and {len(refs) - 4} earlier" if len(refs) > 4 else ""
    return f"Loaded for other dates: {'; '.join(shown)}{more}."
