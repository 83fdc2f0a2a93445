"""The procedure billing guide workbook (Overview, Coverage, Coding, Claim fields, Payment, Changes, Sources).

Pure: ``GuideData`` is plain frozen data, filled by the caller from the coding snapshot, the payer rules
and the payment arithmetic (``billing.guide.fees``); ``write_billing_guide`` turns it into an xlsx file.
Amount cells hold a ``Decimal`` (written as a number in currency format) or a short text saying why
there is no amount ("carrier priced", "not loaded"): a cell never holds a formula or a false $0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from billing.checking.rules.payer import ENROLMENT_DIAGNOSES
from billing.guide.fees import PFS_STATUS, FacilityRate, GpciInput, PfsAmount, RvuLike, pfs_amounts
from billing.guide.text import public_text
from billing.spreadsheets import (
    BOLD,
    CF_FORMAT,
    CURRENCY,
    HEADER_ALIGN,
    HEADER_BORDER,
    HEADER_FILL,
    HEADER_FONT,
    LINK_FONT,
    PERCENT,
    STATUS_FONT,
    SUBTITLE_FONT,
    TITLE_FONT,
    TOP,
    WRAP_TOP,
    Output,
    is_number,
    print_setup,
    set_value,
)
from codes.snapshot import KIND_LABELS, ReleaseRef
from practice.policy import (
    COVERAGE_CHOICES,
    PAYER_TYPES,
    POSITION_ANY,
    POSITION_LINE,
    POSITION_PRIMARY,
    POSITION_SECONDARY,
    PayerInfo,
    PayerRuleVersion,
)

Amount = Decimal | str
"""An amount in dollars, or the text shown instead ("carrier priced", "NA in this setting", "not loaded")."""

DEFAULT_DISCLAIMER = (
    "This guide is general information for the practice's billing office, compiled from the CMS files and payer "
    "policies loaded in the product on the date shown. It is not legal, coding or reimbursement advice and does not "
    "promise coverage or payment. Payer policies change: confirm coverage, coding and payment with each payer before "
    "the service, and code from the medical record. Medicare amounts are unadjusted fee schedule rates before "
    "deductible, coinsurance, sequestration and multiple-procedure, bilateral or other adjustments. CPT codes and "
    "descriptors are copyright the American Medical Association; descriptions marked 'our summary' are the "
    "product's own words, not CPT text."
)

# Where a procedure description comes from (CPT text is licensed; HCPCS Level II text is CMS's, public).
TEXT_SUMMARY = "our summary"
TEXT_LICENSED = "licensed CPT text"
TEXT_CMS = "CMS HCPCS text"

# Kinds of change on the Changes sheet.
CHANGE_CODE = "Code"
CHANGE_RULE = "Payer rule"
CHANGE_AMOUNT = "Amount"


# ---- the data -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Locality:
    """A Medicare payment locality: ``code`` is MAC-locality ("10112-00"), ``name`` as CMS spells it."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One payer's position on the procedure, with what a claim needs."""

    payer: str
    payer_type: str  # "Medicare fee-for-service", "Commercial"…
    coverage: str  # "Covered only under Coverage with Evidence Development (CED)"…
    modifiers: tuple[str, ...] = ()
    diagnoses: tuple[str, ...] = ()  # as shown: "M48.062 (primary)"
    trial: str = ""  # "NCT number required: NCT03072927"; "" when none is needed
    prior_auth: str = ""  # "required", "not required"; "" when not known
    places_of_service: tuple[str, ...] = ()  # empty: no limit known
    effective_from: date | None = None
    effective_to: date | None = None
    reference: str = ""
    reference_url: str = ""
    certainty: str = "sure"  # sure / likely / unverified (practice.policy.CERTAINTY)
    notes: str = ""
    codes: tuple[str, ...] = ()  # the procedure codes the position is about; shown under the coverage

    @classmethod
    def from_rule(cls, rule: PayerRuleVersion, payer: PayerInfo) -> CoverageRow:
        """A coverage row from a payer rule version in force and its payer."""
        diagnoses = []
        for requirement in rule.required_diagnoses:
            codes = " or ".join(_icd_display(c) for c in requirement.codes)
            where = _POSITION_SHORT.get(requirement.position, requirement.position)
            diagnoses.append(f"{codes} ({where})")
        trial = ""
        if rule.trial_number_required:
            trial = "NCT number required"
            if rule.approved_trials:
                trial += ": " + ", ".join(rule.approved_trials)
        notes = [rule.notes, rule.not_covered_advice]
        if rule.scoped:
            notes.insert(0, f"Applies only to services done in {rule.scope_text()}")
        if rule.frequency is not None:
            limit = rule.frequency
            per = ", per side" if limit.per_side else ""
            groups = " / ".join(name for name, _ in limit.groups)
            notes.insert(0, f"At most {limit.sessions} sessions per {limit.window_days} days per {groups}{per}")
        if any(
            r.position == POSITION_SECONDARY and any(c.replace(".", "").upper() in ENROLMENT_DIAGNOSES for c in r.codes)
            for r in rule.required_diagnoses
        ):  # as PAYER_REQUIRES_DIAGNOSIS says it
            notes.append("Z00.6 first: CMS accepts it primary or secondary, the checker warns (not an error)")
        if rule.allowed_places_of_service and rule.place_of_service_severity == "warning":
            notes.append("place-of-service limit not confirmed: checked as a warning")
        return cls(
            payer=payer.name,
            payer_type=PAYER_TYPES.get(payer.payer_type, payer.payer_type),
            coverage=COVERAGE_CHOICES.get(rule.coverage, rule.coverage),
            modifiers=rule.required_modifiers,
            diagnoses=tuple(diagnoses),
            trial=trial,
            prior_auth="required" if rule.prior_auth_required else "not required",
            places_of_service=rule.allowed_places_of_service,
            effective_from=rule.effective_from,
            effective_to=rule.effective_to,
            reference=rule.reference,
            reference_url=rule.reference_url,
            certainty=rule.certainty,
            notes=_join(notes),
            codes=rule.codes,
        )


@dataclass(frozen=True, slots=True)
class ProcedureCode:
    code: str
    system: str  # "CPT" or "HCPCS"
    description: str
    text_source: str  # TEXT_SUMMARY, TEXT_LICENSED or TEXT_CMS
    notes: str = ""


@dataclass(frozen=True, slots=True)
class DiagnosisCode:
    code: str  # shown with the dot: "M48.062"
    description: str
    billable: bool | None  # None: not known (no ICD-10-CM release loaded for the year, or it does not list the code)
    notes: str = ""
    details: str = ""  # what the Details column says instead of billable / not billable, when set


@dataclass(frozen=True, slots=True)
class ModifierCode:
    code: str
    description: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class PlaceOfService:
    code: str
    name: str
    facility_rate: bool  # the PFS facility rate applies
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ClaimField:
    """Where one claim item goes on the electronic (837P) and paper (CMS-1500) professional claim."""

    item: str
    x12_837p: str
    cms_1500: str
    example: str
    applies_to: str
    certainty: str = "sure"
    source: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """Payment for one code (and PFS modifier row: "", "26", "TC") by site of service.

    The locality amounts are shown only when the guide has a locality; set them (for every row) then.
    """

    code: str
    modifier: str
    description: str
    status: str  # "R: restricted coverage"
    national_nonfacility: Amount
    national_facility: Amount
    locality_nonfacility: Amount | None = None
    locality_facility: Amount | None = None
    opps_indicator: str = ""
    opps_apc: str = ""
    opps_rate: Amount = "not loaded"
    asc_indicator: str = ""
    asc_rate: Amount = "not loaded"
    notes: str = ""

    @classmethod
    def build(
        cls,
        code: str,
        description: str,
        rvu: RvuLike | None,
        cf: Decimal,
        *,
        modifier: str = "",
        gpci: GpciInput = None,
        opps: FacilityRate | None = None,
        asc: FacilityRate | None = None,
        notes: str = "",
    ) -> PaymentRow:
        """A row priced with ``billing.guide.fees``: national always, the locality when ``gpci`` is given."""
        national_nf, national_f = pfs_amounts(rvu, None, cf)
        local: tuple[PfsAmount, PfsAmount] | tuple[None, None] = (
            pfs_amounts(rvu, gpci, cf) if gpci is not None else (None, None)
        )
        status = ""
        if rvu is not None:
            status = f"{rvu.status}: {PFS_STATUS.get(rvu.status, 'unknown status')}"
        extra = [n for n in (national_nf.note, national_f.note) if n and not n.startswith("status ")]
        return cls(
            code=code,
            modifier=modifier,
            description=description,
            status=status or national_f.status,
            national_nonfacility=national_nf.display,
            national_facility=national_f.display,
            locality_nonfacility=local[0].display if local[0] is not None else None,
            locality_facility=local[1].display if local[1] is not None else None,
            opps_indicator=opps.indicator if opps else "",
            opps_apc=opps.apc if opps else "",
            opps_rate=opps.display if opps else "not loaded",
            asc_indicator=asc.indicator if asc else "",
            asc_rate=asc.display if asc else "not loaded",
            notes=_join([*extra, notes]),
        )


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A change since the previous year: a code, a payer rule or an amount (old and new)."""

    kind: str  # CHANGE_CODE, CHANGE_RULE or CHANGE_AMOUNT
    subject: str  # "0275T", "Medicare NCD 150.13", "G0276 facility, national"
    description: str
    old: Amount | None = None
    new: Amount | None = None
    effective: date | None = None
    source: str = ""
    decimals: int = 2  # 4 for a conversion factor


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A release the guide was built from."""

    kind: str
    label: str
    effective_from: date | None
    effective_to: date | None = None
    published: date | None = None
    sha256: str = ""
    notes: str = ""

    @classmethod
    def from_release(cls, ref: ReleaseRef, *, published: date | None = None, notes: str = "") -> SourceRow:
        return cls(
            KIND_LABELS.get(ref.kind, ref.kind),
            ref.label,
            ref.effective_from,
            ref.effective_to,
            published,
            ref.sha256,
            notes,
        )


@dataclass(frozen=True)
class GuideData:
    """Everything the guide shows. ``locality`` None: national amounts only."""

    procedure: str
    year: int
    generated_at: datetime
    locality: Locality | None = None
    disclaimer: str = DEFAULT_DISCLAIMER
    conversion_factor: Decimal | None = None
    summary: tuple[str, ...] = ()
    coverage: tuple[CoverageRow, ...] = ()
    procedures: tuple[ProcedureCode, ...] = ()
    diagnoses: tuple[DiagnosisCode, ...] = ()
    modifiers: tuple[ModifierCode, ...] = ()
    places: tuple[PlaceOfService, ...] = ()
    claim_fields: tuple[ClaimField, ...] = ()  # the procedure profile's own (fixtures/practice)
    payments: tuple[PaymentRow, ...] = ()
    previous_year: int | None = None
    changes: tuple[ChangeRow, ...] = ()
    sources: tuple[SourceRow, ...] = ()


def claim_fields_from(items) -> tuple[ClaimField, ...]:
    """The claim items of a procedure profile (its fixture's ``claim_fields``: dicts of ClaimField's fields)."""
    names = {f.name for f in fields(ClaimField)}
    return tuple(ClaimField(**{k: v for k, v in item.items() if k in names}) for item in items or ())


_POSITION_SHORT = {
    POSITION_PRIMARY: "primary",
    POSITION_SECONDARY: "secondary",
    POSITION_ANY: "any position",
    POSITION_LINE: "pointed to by the line",
}


def _join(notes: Sequence[str]) -> str:
    """Notes joined with '; ', empty and repeated ones dropped, without a full stop before a semicolon."""
    parts = list(dict.fromkeys(n.strip() for n in notes if n and n.strip()))
    return "; ".join([p.rstrip(".") for p in parts[:-1]] + parts[-1:])


def _icd_display(code: str) -> str:
    code = code.replace(".", "").strip().upper()
    if code.endswith("*"):
        return code
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


# ---- the writer -----------------------------------------------------------------------------------

TEXT = "text"
WRAP = "wrap"
MONEY = "money"
DATE = "date"
PCT = "percent"


@dataclass(frozen=True, slots=True)
class Formatted:
    """A number with its own format, overriding its column's (a 4-decimal conversion factor in a money column)."""

    value: Decimal | int | float
    number_format: str


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    width: int  # the widest it may grow to
    kind: str = TEXT
    required: bool = False


TITLE_ROW, SUBTITLE_ROW, HEADER_ROW = 1, 2, 4
FIRST_DATA_ROW = HEADER_ROW + 1


def write_billing_guide(guide: GuideData, out: Output) -> None:
    """Write the guide as an xlsx workbook to a path or a binary stream."""
    wb = Workbook()
    heading = f"{guide.procedure} billing guide {guide.year}"
    where = f"locality {guide.locality.code} {guide.locality.name}" if guide.locality else "national amounts"
    stamp = f"{heading} · {where} · generated {_stamp(guide.generated_at)}"
    _overview(wb.active, guide, heading, stamp)
    _table(wb.create_sheet("Coverage"), "Coverage by payer", stamp, *_coverage(guide))
    _table(wb.create_sheet("Coding"), "Coding", stamp, *_coding(guide))
    _table(wb.create_sheet("Claim fields"), "Where the clinical-trial items go on the claim", stamp, *_claim(guide))
    payment_note = _payment_note(guide)
    _table(wb.create_sheet("Payment"), "Payment by site of service", payment_note, *_payment(guide))
    changes_title = f"Changes since {guide.previous_year}" if guide.previous_year else "Changes since last year"
    _table(wb.create_sheet("Changes"), changes_title, stamp, *_changes(guide))
    _table(wb.create_sheet("Sources"), "Sources", stamp, *_sources(guide))
    wb.active = 0
    wb.properties.title = heading
    wb.properties.creator = "mild billing"
    wb.save(out)


def _stamp(when: datetime) -> str:
    text = when.strftime("%Y-%m-%d %H:%M")
    zone = when.strftime("%Z")
    return f"{text} {zone}" if zone else text


def _overview(ws: Worksheet, guide: GuideData, heading: str, stamp: str) -> None:
    ws.title = "Overview"
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
    set_value(ws.cell(TITLE_ROW, 1), heading)
    ws.cell(TITLE_ROW, 1).font = TITLE_FONT
    set_value(ws.cell(SUBTITLE_ROW, 1), stamp)
    ws.cell(SUBTITLE_ROW, 1).font = SUBTITLE_FONT
    facts: list[tuple[str, object, str | None]] = [
        ("Procedure", guide.procedure, None),
        ("Year", guide.year, "0"),
        ("Locality", f"{guide.locality.code} {guide.locality.name}" if guide.locality else "national only", None),
        ("Generated", _stamp(guide.generated_at), None),
        ("PFS conversion factor", guide.conversion_factor if guide.conversion_factor else "not loaded", CF_FORMAT),
    ]
    row = HEADER_ROW
    for label, value, number_format in facts:
        set_value(ws.cell(row, 1), label)
        ws.cell(row, 1).font = BOLD
        cell = ws.cell(row, 2)
        set_value(cell, value)
        cell.alignment = Alignment(horizontal="left", vertical="top")
        if number_format and is_number(value):
            cell.number_format = number_format
        row += 1
    row += 1
    set_value(ws.cell(row, 1), "Disclaimer")
    ws.cell(row, 1).font = BOLD
    _paragraph(ws, row, guide.disclaimer)
    row += 2
    for i, text in enumerate(guide.summary):
        if i == 0:
            set_value(ws.cell(row, 1), "Summary")
            ws.cell(row, 1).font = BOLD
        _paragraph(ws, row, text)
        row += 1
    row += 1
    set_value(ws.cell(row, 1), "Sheets")
    ws.cell(row, 1).font = BOLD
    contents = (
        ("Coverage", "each payer's position and what its claims need"),
        ("Coding", "procedure and diagnosis codes, modifiers, places of service"),
        ("Claim fields", "where the items this procedure's claims need go on the 837P and the CMS-1500"),
        ("Payment", "physician, hospital outpatient and ASC amounts"),
        ("Changes", "what changed since the previous year"),
        ("Sources", "the CMS releases and policies this guide is built from"),
    )
    for name, what in contents:
        cell = ws.cell(row, 2)
        set_value(cell, f"{name}: {what}")
        cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{name}'!A1", display=name)
        cell.font = LINK_FONT
        row += 1
    ws.freeze_panes = ws.cell(SUBTITLE_ROW + 1, 1)
    print_setup(ws, None, heading)


def _paragraph(ws: Worksheet, row: int, text: str) -> None:
    text = public_text(text)
    cell = ws.cell(row, 2)
    set_value(cell, text)
    cell.alignment = WRAP_TOP
    ws.cell(row, 1).alignment = TOP
    ws.row_dimensions[row].height = 15 * max(1, math.ceil(len(text) * 1.1 / 100) + text.count("\n"))


Rows = list[list[object]]
MAX_ROW_HEIGHT = 409  # points: Excel's tallest row


def _table(ws: Worksheet, title: str, subtitle: str, columns: Sequence[Column], rows: Rows) -> None:
    """A titled table: title, subtitle, a bold frozen header with an autofilter, typed and wrapped cells."""
    set_value(ws.cell(TITLE_ROW, 1), title)
    ws.cell(TITLE_ROW, 1).font = TITLE_FONT
    set_value(ws.cell(SUBTITLE_ROW, 1), subtitle)
    ws.cell(SUBTITLE_ROW, 1).font = SUBTITLE_FONT
    for col, column in enumerate(columns, 1):
        cell = ws.cell(HEADER_ROW, col)
        set_value(cell, column.header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGN
        cell.border = HEADER_BORDER
    widths = [min(column.width, max(10, len(column.header) + 2)) for column in columns]
    for r, values in enumerate(rows, FIRST_DATA_ROW):
        lines = 1
        for col, (column, value) in enumerate(zip(columns, values), 1):
            if value is None or value == "":
                if column.required:
                    raise ValueError(f"{title}: row {r - HEADER_ROW} has no {column.header}")
                continue
            cell = ws.cell(r, col)
            own_format = None
            if isinstance(value, Formatted):
                value, own_format = value.value, value.number_format
            set_value(cell, value)
            if is_number(value):
                column_format = {MONEY: CURRENCY, PCT: PERCENT}.get(column.kind, cell.number_format)
                cell.number_format = own_format or column_format
                cell.alignment = TOP
                width = 14
            elif isinstance(value, date):
                cell.alignment = TOP
                width = 12
            else:
                text = public_text(str(value))  # no internal references (billing.guide.text)
                set_value(cell, text)
                cell.alignment = WRAP_TOP
                if column.kind == MONEY:
                    cell.font = STATUS_FONT
                    cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="right")
                if text.startswith(("http://", "https://")):
                    cell.hyperlink = text
                    cell.font = LINK_FONT
                width = max(len(part) for part in text.split("\n")) + 2
                lines = max(lines, *(math.ceil(len(part) / column.width) or 1 for part in text.split("\n")))
            widths[col - 1] = max(widths[col - 1], min(width, column.width))
        if lines > 1:  # tall enough for the longest text (Excel's limit: 409 points)
            ws.row_dimensions[r].height = min(15 * lines, MAX_ROW_HEIGHT)
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[HEADER_ROW].height = 30
    last_col = get_column_letter(len(columns))
    last_row = HEADER_ROW + max(1, len(rows))
    ws.auto_filter.ref = f"A{HEADER_ROW}:{last_col}{last_row}"
    ws.freeze_panes = ws.cell(FIRST_DATA_ROW, 1)
    print_setup(ws, HEADER_ROW, title)
    if not rows:
        set_value(ws.cell(FIRST_DATA_ROW, 1), "none")
        ws.cell(FIRST_DATA_ROW, 1).font = STATUS_FONT


def _dates(start: date | None, end: date | None) -> tuple[date | str | None, date | str | None]:
    return start, end if end else ("open" if start else None)


def _coverage(guide: GuideData) -> tuple[list[Column], Rows]:
    columns = [
        Column("Payer", 28, required=True),
        Column("Payer type", 18, required=True),
        Column("Coverage", 34, WRAP, required=True),
        Column("Modifiers", 12),
        Column("Diagnoses", 30, WRAP),
        Column("Clinical trial", 28, WRAP),
        Column("Prior authorisation", 14),
        Column("Places of service", 12),
        Column("Effective from", 12, DATE),
        Column("Effective to", 12, DATE),
        Column("Reference", 30, WRAP),
        Column("Reference URL", 40, WRAP),
        Column("Certainty", 11, required=True),
        Column("Notes", 100, WRAP),  # up to ~1,500 characters: wide, so the row stays under Excel's tallest
    ]
    rows = [
        [
            c.payer,
            c.payer_type,
            c.coverage + (f"\nCodes: {', '.join(c.codes)}" if c.codes else ""),
            ", ".join(c.modifiers),
            "\n".join(c.diagnoses),
            c.trial,
            c.prior_auth or "not known",
            ", ".join(c.places_of_service) or "any",
            *_dates(c.effective_from, c.effective_to),
            c.reference,
            c.reference_url,
            c.certainty,
            c.notes,
        ]
        for c in guide.coverage
    ]
    return columns, rows


def _coding(guide: GuideData) -> tuple[list[Column], Rows]:
    columns = [
        Column("Kind", 16, required=True),
        Column("Code", 10, required=True),
        Column("Description", 70, WRAP, required=True),
        Column("Details", 26, WRAP, required=True),
        Column("Notes", 60, WRAP),
    ]
    rows: Rows = []
    rows += [
        [f"Procedure ({p.system})", p.code, p.description, f"Description: {p.text_source}", p.notes]
        for p in guide.procedures
    ]
    rows += [["Diagnosis", d.code, d.description, d.details or _billable(d.billable), d.notes] for d in guide.diagnoses]
    rows += [["Modifier", m.code, m.description, "modifier", m.notes] for m in guide.modifiers]
    rows += [
        [
            "Place of service",
            p.code,
            p.name,
            "PFS facility rate" if p.facility_rate else "PFS non-facility rate",
            p.notes,
        ]
        for p in guide.places
    ]
    return columns, rows


def _billable(billable: bool | None) -> str:
    if billable is None:
        return "not checked (ICD-10-CM not loaded)"
    return "billable" if billable else "not billable (header)"


def _claim(guide: GuideData) -> tuple[list[Column], Rows]:
    columns = [
        Column("Item", 30, WRAP, required=True),
        Column("837P (electronic)", 42, WRAP, required=True),
        Column("CMS-1500 (paper)", 32, WRAP, required=True),
        Column("Example", 40, WRAP),
        Column("Applies to", 32, WRAP),
        Column("Certainty", 11, required=True),
        Column("Source", 24, WRAP),
        Column("Notes", 44, WRAP),
    ]
    rows = [
        [f.item, f.x12_837p, f.cms_1500, f.example, f.applies_to, f.certainty, f.source, f.notes]
        for f in guide.claim_fields
    ]
    return columns, rows


def _payment_note(guide: GuideData) -> str:
    cf = f"${guide.conversion_factor:.4f}" if guide.conversion_factor else "not loaded"
    local = f"; locality {guide.locality.code} {guide.locality.name}" if guide.locality else ""
    return (
        f"CY{guide.year} PFS conversion factor {cf}; national amounts use GPCIs of 1.0{local}. "
        "Participating fee schedule amounts, before deductible, coinsurance and adjustments. "
        "OPPS and ASC: national unadjusted rates from Addendum B and AA."
    )


def _payment(guide: GuideData) -> tuple[list[Column], Rows]:
    columns = [
        Column("Code", 9, required=True),
        Column("Modifier", 9),
        Column("Description", 36, WRAP),
        Column("PFS status", 22, WRAP, required=True),
        Column("Physician national non-facility", 16, MONEY, required=True),
        Column("Physician national facility", 16, MONEY, required=True),
    ]
    if guide.locality:
        columns += [
            Column(f"Physician {guide.locality.code} non-facility", 16, MONEY, required=True),
            Column(f"Physician {guide.locality.code} facility", 16, MONEY, required=True),
        ]
    columns += [
        Column("OPPS SI", 8),
        Column("OPPS APC", 8),
        Column("OPPS national rate", 16, MONEY, required=True),
        Column("ASC PI", 8),
        Column("ASC national rate", 16, MONEY, required=True),
        Column("Notes", 40, WRAP),
    ]
    rows = []
    for p in guide.payments:
        row: list[object] = [p.code, p.modifier, p.description, p.status, p.national_nonfacility, p.national_facility]
        if guide.locality:
            row += [p.locality_nonfacility, p.locality_facility]
        row += [p.opps_indicator, p.opps_apc, p.opps_rate, p.asc_indicator, p.asc_rate, p.notes]
        rows.append(row)
    return columns, rows


def _changes(guide: GuideData) -> tuple[list[Column], Rows]:
    previous = str(guide.previous_year) if guide.previous_year else "previous"
    columns = [
        Column("Kind", 12, required=True),
        Column("Subject", 26, WRAP, required=True),
        Column("What changed", 60, WRAP, required=True),
        Column(f"Before ({previous})", 16, MONEY),
        Column(f"Now ({guide.year})", 16, MONEY),
        Column("Difference", 14, MONEY),
        Column("Change", 9, PCT),
        Column("Effective", 12, DATE),
        Column("Source", 30, WRAP),
    ]
    rows = []
    for c in guide.changes:
        difference: Decimal | None = None
        share: Decimal | None = None
        if isinstance(c.old, Decimal) and isinstance(c.new, Decimal):
            difference = c.new - c.old
            share = (difference / c.old).quantize(Decimal("0.0001")) if c.old else None
        money = [c.old, c.new, difference]
        if c.decimals != 2:
            number_format = '"$"#,##0.' + "0" * c.decimals if c.decimals > 0 else '"$"#,##0'
            money = [Formatted(v, number_format) if isinstance(v, Decimal) else v for v in money]
        rows.append([c.kind, c.subject, c.description, *money, share, c.effective, c.source])
    return columns, rows


def _sources(guide: GuideData) -> tuple[list[Column], Rows]:
    columns = [
        Column("Kind", 30, required=True),
        Column("Release", 34, WRAP, required=True),
        Column("Effective from", 12, DATE),
        Column("Effective to", 12, DATE),
        Column("Published", 12, DATE),
        Column("SHA-256", 66),
        Column("Notes", 44, WRAP),
    ]
    rows = [
        [s.kind, s.label, *_dates(s.effective_from, s.effective_to), s.published, s.sha256, s.notes]
        for s in guide.sources
    ]
    return columns, rows
