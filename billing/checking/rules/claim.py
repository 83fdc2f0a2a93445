"""Claim-level checks: place of service, rendering NPI, diagnoses present, dates, duplicate lines, filing limit."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date

from billing.checking.context import CheckContext
from billing.checking.findings import INFO, WARNING, Finding
from billing.checking.rules.base import Rule, and_list, release_reference
from codes.snapshot import POS
from practice.policy import MEDICARE_FFS

_TEN_DIGITS = re.compile(r"\d{10}")
NPI_PREFIX = "80840"  # ISO 7812 issuer prefix for US health applications, used in the NPI check digit
NPI_REFERENCE = "NPI standard (45 CFR 162.406): 10 digits, the last a Luhn check digit computed with the prefix 80840"
MEDICARE_FILING_REFERENCE = (
    "42 CFR 424.44: Medicare claims are filed within one calendar year after the date of service"
)


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit of an NPI's first nine digits, computed over ``80840`` + those digits."""
    total = 0
    for position, char in enumerate(reversed(NPI_PREFIX + first_nine)):
        digit = int(char)
        if position % 2 == 0:  # doubled: every other digit from the right of the payload
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


@functools.lru_cache(maxsize=4096)  # a practice's claims carry the same few NPIs
def npi_problem(npi: str | None) -> str | None:
    """Why an NPI is not valid, in plain words; None when it is."""
    if not npi:
        return "The claim has no rendering NPI."
    if not _TEN_DIGITS.fullmatch(npi):
        return f"{npi} is not 10 digits."
    expected = npi_check_digit(npi[:9])
    if int(npi[9]) != expected:
        return f"{npi}: the check digit (the last digit) should be {expected}; a digit was probably mistyped."
    return None


def one_year_after(on: date) -> date:
    """The same day one calendar year later (28 February for 29 February)."""
    try:
        return on.replace(year=on.year + 1)
    except ValueError:
        return on.replace(year=on.year + 1, day=28)


def filing_deadline(on: date, limit_days: int | None, medicare: bool) -> date | None:
    """The last day a claim for a service on ``on`` may be filed; None when no limit is known.

    A limit of 365 or 366 days is the usual "12 months": counted by the calendar, one year after the date of
    service, as Medicare counts it. Medicare fee-for-service without a configured limit uses that too.
    """
    if limit_days is None:
        return one_year_after(on) if medicare else None
    if limit_days <= 0:
        return None
    if limit_days in (365, 366):
        return one_year_after(on)
    return date.fromordinal(min(on.toordinal() + limit_days, date.max.toordinal()))


class PlaceOfServiceUnknown(Rule):
    """The place of service is not a CMS place-of-service code."""

    id = "PLACE_OF_SERVICE_UNKNOWN"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        snapshot = ctx.claim_snapshot()
        release = snapshot.release(POS)
        place = ctx.claim.place_of_service
        if release is None or snapshot.place_of_service(place) is not None:
            return
        yield self.finding(
            f"{place} is not in the list in force on {ctx.claim.date_of_service.isoformat()}.",
            codes=(place,),
            reference=release_reference(release),
            suggestion="Use the two-digit CMS code for where the service was given "
            "(e.g. 22 on-campus outpatient hospital, 24 ambulatory surgical center, 11 office).",
        )


class NpiInvalid(Rule):
    """The rendering provider's NPI is missing or is not a valid NPI (10 digits with a correct check digit)."""

    id = "NPI_INVALID"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        npi = ctx.claim.rendering_npi
        problem = npi_problem(npi)
        if problem is None:
            return
        yield self.finding(
            problem,
            codes=(npi,) if npi else (),
            reference=NPI_REFERENCE,
            suggestion="Copy the rendering provider's 10-digit NPI from the practice's provider list or NPPES.",
        )


class ClaimNoDiagnosis(Rule):
    """The claim lists no diagnosis: every claim needs at least the diagnosis that justifies the service."""

    id = "CLAIM_NO_DIAGNOSIS"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.claim.diagnoses:
            return
        yield self.finding(
            reference="CMS-1500 item 21 / 837P HI segment: at least one diagnosis per claim",
            suggestion="Add the diagnosis codes from the record (e.g. M48.062 first) and point each line to them.",
        )


class DateOfServiceAfterSubmission(Rule):
    """A date of service is after the day the claim goes out: a claim cannot bill a service not yet given."""

    id = "DATE_OF_SERVICE_AFTER_SUBMISSION"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        submitted = ctx.submitted_on
        for on in ctx.claim.service_dates():
            if on <= submitted:
                continue
            lines = ctx.lines_by_date.get(on, ())
            where = f"lines {and_list(str(line.number) for line in lines)}" if lines else "the claim"
            yield self.finding(
                f"{on.isoformat()} ({where}) is after {submitted.isoformat()}, the day the claim goes out.",
                line=lines[0].number if lines and on != ctx.claim.date_of_service else None,
                reference="Claim dates: date of service and submission date (submitted_on, or the day of the check)",
                suggestion="Correct the date of service, or hold the claim until the service has been given.",
            )


class DuplicateLine(Rule):
    """The same code with the same modifiers appears twice on one date of service: payers deny repeats as
    duplicates."""

    id = "DUPLICATE_LINE"
    severity = WARNING

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        seen: dict[tuple, int] = {}
        for line in ctx.claim.lines:
            key = (ctx.line_date(line), line.code, tuple(sorted(line.modifiers)))
            first = seen.setdefault(key, line.number)
            if first == line.number:
                continue
            modifiers = f" with {and_list(line.modifiers)}" if line.modifiers else " without modifiers"
            yield self.finding(
                f"Line {line.number} repeats line {first}: {line.code}{modifiers} on {key[0].isoformat()}.",
                line=line.number,
                codes=(line.code,),
                reference=f"Claim lines {first} and {line.number}: same code, modifiers and date of service",
                suggestion=f"If the service was given once, delete line {line.number}; if it was repeated, report "
                f"the units on line {first} or add the modifier that shows a repeat (e.g. 76, 77 or 91).",
            )


class TimelyFiling(Rule):
    """The claim goes out after the payer's filing limit: late claims are denied."""

    id = "TIMELY_FILING"
    severity = WARNING

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        """Medicare fee-for-service: one calendar year (42 CFR 424.44, sure). Other payers: the limit set on the
        payer (Medicare Advantage ships a 12-month default, unverified: fixtures/practice/payers.json); with no
        limit set, an info finding says the limit is unknown (issue 13 point 9)."""
        payer = ctx.payer
        if payer is None:
            return
        medicare = payer.payer_type == MEDICARE_FFS
        if payer.filing_limit_days is None and not medicare:
            yield Finding(  # its own message: the rule's docstring speaks of a late claim
                rule=self.id,
                message=f"Filing limit unknown: check your contract with {payer.name}. No filing limit is set for "
                "this payer, so the claim's timeliness was not checked.",
                severity=INFO,
                reference=f"{payer.name}: no filing limit set"
                + (f" ({payer.filing_limit_note})" if payer.filing_limit_note else ""),
                suggestion="Set the payer's filing limit (days after the date of service) from the payer contract "
                "in the payer's settings.",
            )
            return
        submitted = ctx.submitted_on
        late = []
        for on in sorted(ctx.lines_by_date):
            deadline = filing_deadline(on, payer.filing_limit_days, medicare)
            if deadline is not None and submitted > deadline:
                late.append((on, deadline))
        if not late:
            return
        on, deadline = late[0]
        others = f" (and {len(late) - 1} later date{'s' if len(late) > 2 else ''})" if len(late) > 1 else ""
        if medicare and (payer.filing_limit_days in (None, 365, 366)):
            reference = f"{payer.name}: {MEDICARE_FILING_REFERENCE}"
        elif payer.filing_limit_days in (365, 366):
            reference = f"{payer.name}: filing limit 12 months after the date of service"
        else:
            reference = f"{payer.name}: filing limit {payer.filing_limit_days} days after the date of service"
        if not medicare and payer.filing_limit_note:
            reference += f" ({payer.filing_limit_note})"
        yield self.finding(
            f"Services on {on.isoformat()}{others} had to reach {payer.name} by {deadline.isoformat()}; the claim "
            f"goes out on {submitted.isoformat()}.",
            reference=reference,
            suggestion="Send it only with proof that an exception applies (e.g. the payer's own error or "
            "retroactive coverage); otherwise expect a timely-filing denial.",
        )
