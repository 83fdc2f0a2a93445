"""Diagnosis codes (ICD-10-CM) as of the dates of the lines that point to them, and the lines' pointers.

Where no ICD-10-CM release covers a date, the code rules stay silent for it and CODING_NOT_LOADED says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date

from billing.checking.claim import Claim
from billing.checking.context import CheckContext
from billing.checking.findings import WARNING, Finding
from billing.checking.rules.base import Rule, icd_display, or_list, release_reference
from codes.snapshot import ICD10CM, CodingSnapshot

POINTER_REFERENCE = (
    "CMS-1500 item 24E / 837P SV107: a line's diagnosis pointers name diagnoses listed in item 21 / 837P HI"
)


def entered(claim: Claim, index: int) -> str:
    """A diagnosis as billing staff typed it (falls back to the dotted form)."""
    if index < len(claim.diagnoses_as_entered):
        return claim.diagnoses_as_entered[index]
    return icd_display(claim.diagnoses[index])


def first_date_each(
    ctx: CheckContext, finding_on: Callable[[int, str, date, CodingSnapshot], Finding | None]
) -> Iterator[Finding]:
    """For each diagnosis (its index and code), the finding ``finding_on`` gives on the first of its dates of
    service that has one, with the coding in force that day: one finding a diagnosis, however many dates."""
    for index, code in enumerate(ctx.claim.diagnoses):
        for on in ctx.diagnosis_dates[index]:
            finding = finding_on(index, code, on, ctx.snapshot(on))
            if finding is not None:
                yield finding
                break


class DiagnosisCodeUnknown(Rule):
    """A diagnosis on the claim is not an ICD-10-CM code."""

    id = "DIAGNOSIS_CODE_UNKNOWN"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        def finding_on(index: int, code: str, on: date, snapshot: CodingSnapshot) -> Finding | None:
            release = snapshot.release(ICD10CM)
            if release is None or snapshot.diagnosis(code) or snapshot.diagnosis_elsewhere(code):
                return None
            return self.finding(
                f"Diagnosis {index + 1}, {entered(ctx.claim, index)}, is not in the ICD-10-CM code set.",
                codes=(icd_display(code),),
                reference=release_reference(release),
                suggestion="Check the code for typing errors and use the ICD-10-CM code the record supports "
                "(e.g. M48.062 for lumbar stenosis with neurogenic claudication).",
            )

        return first_date_each(ctx, finding_on)


class DiagnosisNotBillable(Rule):
    """A diagnosis is a category or header code, which payers do not accept: use one of the more specific
    codes below it."""

    id = "DIAGNOSIS_NOT_BILLABLE"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        def finding_on(index: int, code: str, on: date, snapshot: CodingSnapshot) -> Finding | None:
            info = snapshot.diagnosis(code)
            if info is None or info.billable:
                return None
            children = [icd_display(child) for child in snapshot.billable_children(code, limit=7)]
            shown = icd_display(code)
            if not children:
                suggestion = f"{shown} is not billable: use a more specific code."
            elif len(children) > 6:
                first = ", ".join(children[:6])
                suggestion = f"{shown} is not billable: use one of {first} or another code under it."
            else:
                suggestion = f"{shown} is not billable: use {or_list(children)}."
            return self.finding(
                f"Diagnosis {index + 1}, {entered(ctx.claim, index)} ({info.description}), has more specific "
                "codes below it.",
                codes=(shown,),
                reference=release_reference(info.release),
                suggestion=suggestion,
            )

        return first_date_each(ctx, finding_on)


class DiagnosisNotInEffect(Rule):
    """A diagnosis is not valid for the date of service's ICD-10-CM year (it was added later or deleted)."""

    id = "DIAGNOSIS_NOT_IN_EFFECT"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        def finding_on(index: int, code: str, on: date, snapshot: CodingSnapshot) -> Finding | None:
            release = snapshot.release(ICD10CM)
            if release is None or snapshot.diagnosis(code) is not None:
                return None
            elsewhere = snapshot.diagnosis_elsewhere(code)
            if elsewhere is None:
                return None  # unknown: DIAGNOSIS_CODE_UNKNOWN
            shown = icd_display(code)
            when = "later" if elsewhere.release.effective_from > on else "earlier"
            return self.finding(
                f"Diagnosis {index + 1}, {entered(ctx.claim, index)}, is not in the release in force on "
                f"{on.isoformat()} ({release.label}); it is listed in the {when} release "
                f"{elsewhere.release.label}.",
                codes=(shown,),
                reference=f"{release_reference(release)}; {release_reference(elsewhere.release)}",
                suggestion=f"Use the ICD-10-CM code valid on {on.isoformat()} instead of {shown}.",
            )

        return first_date_each(ctx, finding_on)


class DiagnosisPointerInvalid(Rule):
    """A line's diagnosis pointer does not point to a diagnosis on the claim, or the line points to none."""

    id = "DIAGNOSIS_POINTER_INVALID"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        count = len(ctx.claim.diagnoses)
        if not count:
            return  # CLAIM_NO_DIAGNOSIS says it for the whole claim
        for line in ctx.claim.lines:
            if not line.diagnosis_pointers:
                yield self.finding(
                    f"Line {line.number} ({line.code}) points to no diagnosis.",
                    line=line.number,
                    codes=(line.code,),
                    reference=POINTER_REFERENCE,
                    suggestion=f"Point the line to the diagnosis it treats (a number from 1 to {count}).",
                )
                continue
            bad = [str(p) for p in line.diagnosis_pointers if not 1 <= p <= count]
            if bad:
                word = "pointer" if len(bad) == 1 else "pointers"
                yield self.finding(
                    f"Line {line.number} ({line.code}) has {word} {', '.join(bad)}, but the claim lists "
                    f"{count} diagnos{'i' if count == 1 else 'e'}s.",
                    line=line.number,
                    codes=(line.code,),
                    reference=POINTER_REFERENCE,
                    suggestion=f"Use pointers from 1 to {count}, or add the missing diagnosis to the claim.",
                )


class DiagnosisDuplicate(Rule):
    """The same diagnosis is listed twice on the claim: an 837P must not carry duplicate diagnosis codes, and
    payers reject such claims."""

    id = "DIAGNOSIS_DUPLICATE"
    reference = (
        "837P (005010X222A1) loop 2300 HI: each diagnosis once; X12 RFI 2561 on duplicate diagnosis codes "
        "[likely: cited by a certified coder's review, the RFI text was not read here]"
    )

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        first: dict[str, int] = {}
        for index, code in enumerate(ctx.claim.diagnoses):  # normalised: M48.062 and m48062 are the same code
            earlier = first.setdefault(code, index)
            if earlier == index:
                continue
            yield self.finding(
                f"Diagnosis {index + 1}, {entered(ctx.claim, index)}, repeats diagnosis {earlier + 1}, "
                f"{entered(ctx.claim, earlier)}.",
                codes=(icd_display(code),),
                reference=self.reference,
                suggestion=f"Delete diagnosis {index + 1} and point the lines that use {index + 1} to "
                f"{earlier + 1} instead.",
            )


class DiagnosisPointerDuplicate(Rule):
    """A line points to the same diagnosis twice: each pointer on a line names a different diagnosis."""

    id = "DIAGNOSIS_POINTER_DUPLICATE"
    severity = WARNING
    reference = f"{POINTER_REFERENCE}; up to four different pointers a line [likely]"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line in ctx.claim.lines:
            seen: set[int] = set()
            repeated = [p for p in line.diagnosis_pointers if p in seen or seen.add(p)]
            if not repeated:
                continue
            shown = ", ".join(str(p) for p in dict.fromkeys(repeated))
            yield self.finding(
                f"Line {line.number} ({line.code}) lists pointer {shown} more than once.",
                line=line.number,
                codes=(line.code,),
                reference=self.reference,
                suggestion=f"Keep each pointer once on line {line.number} (the first one is the line's primary "
                "diagnosis).",
            )
