"""The procedure billing guide workbook (Overview, Coverage, Coding, Claim fields, Payment, Changes, Sources).

Pure: ``GuideData`` is plain frozen data, filled by the caller from the coding snapshot, the payer rules
and the payment arithmetic (``billing.payments``); ``write_billing_guide`` turns it into an xlsx file.
Amount cells hold a ``Decimal`` (written as a number in currency format) or a short text saying why
there is no amount ("carrier priced", "not loaded"): a cell never holds a formula or a false $0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from billing.checking.rules.payer import ENROLMENT_DIAGNOSES
from billing.guide_text import public_text
from billing.payments import PFS_STATUS, FacilityRate, GpciInput, PfsAmount, RvuLike, pfs_amounts
from billing.xlsx import (
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
        """A row priced with ``billing.payments``: national always, the locality when ``gpci`` is given."""
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
    claim_fields: tuple[ClaimField, ...] = field(default_factory=lambda: MILD_CLAIM_FIELDS)
    payments: tuple[PaymentRow, ...] = ()
    previous_year: int | None = None
    changes: tuple[ChangeRow, ...] = ()
    sources: tuple[SourceRow, ...] = ()


# Medicare CED claim items for mild® (mild.md "Medicare"; LAYOUTS section 7).
MILD_CLAIM_FIELDS: tuple[ClaimField, ...] = (
    ClaimField(
        item="Clinical trial number (NCT)",
        x12_837p="Loop 2300 REF, REF01 = P4 (Demonstration Project Identifier), REF02 = the 8 digits, "
        "without 'NCT' or 'CT'",
        cms_1500="Item 19: 'CT' followed by the 8 digits",
        example="837P: REF*P4*03072927~   CMS-1500 item 19: CT03072927",
        applies_to="Every Medicare claim under the NCD 150.13 CED for a patient enrolled in an approved study "
        "(mild®: study NCT03072927); never on the claim of a patient outside a study",
        certainty="sure",
        source="NCD 150.13; Claims Processing Manual ch. 32 §69.6; LAYOUTS 7 (837P 005010X222A1)",
        notes="Mandatory since 2014-01-01: claims without it are returned as unprocessable. The number, Q0 and Z00.6 "
        "attest enrolment: when the claim has none of them the checker offers both paths (enrolled: add them; not "
        "enrolled: not covered, ABN and GA or GZ).",
    ),
    ClaimField(
        item="Modifier Q0 (investigational service in an approved study)",
        x12_837p="Loop 2400 SV101, a modifier position (SV101-3 to SV101-6) of the investigational line",
        cms_1500="Item 24D, modifier of the investigational line",
        example="837P: SV1*HC:0275T:Q0*…   CMS-1500 24D: 0275T Q0",
        applies_to="The 0275T (or G0276) line on Medicare CED claims of a patient enrolled in an approved study",
        certainty="sure",
        source="NCD 150.13; Claims Processing Manual ch. 32 §69.6; mild.md",
        notes="Q0 attests enrolment: never on the line of a patient outside a study (see GA / GZ).",
    ),
    ClaimField(
        item="Modifier GA or GZ (patient not enrolled in an approved study)",
        x12_837p="Loop 2400 SV101, a modifier position of the 0275T line; no REF*P4, no Q0, no Z00.6",
        cms_1500="Item 24D, modifier of the 0275T line; item 19 left without a CT number",
        example="837P: SV1*HC:0275T:GA*…   CMS-1500 24D: 0275T GA",
        applies_to="Medicare claims for mild® outside an approved study: not covered under NCD 150.13",
        certainty="sure",
        source="NCD 150.13 (covered only in an approved study); Claims Processing Manual ch. 30 §40.3.6 (GA, GZ: "
        "likely) and ch. 32 §69.6",
        notes="GA: a signed ABN is on file and the patient may be billed; GZ: no ABN, the patient cannot be billed. "
        "The checker reports PAYER_NOT_COVERED with this advice, never 'add Q0 and an NCT number'.",
    ),
    ClaimField(
        item="G0276 (blinded PILD or placebo control in an approved CED trial)",
        x12_837p="Loop 2400 SV101 HC:G0276:Q0, with the trial's number in loop 2300 REF*P4",
        cms_1500="Item 24D G0276 Q0; item 19 CT and the trial's 8 digits",
        example="837P: SV1*HC:G0276:Q0*…  REF*P4*02079038~",
        applies_to="Only the blinded or placebo-control arm of an approved CED randomised trial (e.g. NCT02079038); "
        "routine mild® in the Medicare claims study NCT03072927 is 0275T",
        certainty="likely",
        source="HCPCS G0276 descriptor (sure); mild.md (likely); BCBSA 7.01.126 (Blue plans: investigational, as "
        "0275T)",
        notes="The checker warns (PAYER_TRIAL_NOT_APPROVED) on G0276 with NCT03072927 and reports PAYER_NOT_COVERED "
        "for a Blue plan following BCBSA 7.01.126.",
    ),
    ClaimField(
        item="Diagnosis Z00.6 (examination of participant in a clinical trial)",
        x12_837p="Loop 2300 HI, as a secondary diagnosis: ABF:Z006 (no dot), after the principal ABK",
        cms_1500="Item 21, a secondary position (B–L); point the line to it in 24E",
        example="837P: HI*ABK:M48062*ABF:Z006~   CMS-1500 item 21: A M48.062, B Z00.6",
        applies_to="Medicare CED claims",
        certainty="sure",
        source="NCD 150.13; mild.md; LAYOUTS 7",
        notes="CMS accepts Z00.6 in the primary or a secondary position; for mild® M48.062 is primary. Z00.6 "
        "first draws a warning from the checker, not an error.",
    ),
    ClaimField(
        item="Diagnoses and pointers: each once",
        x12_837p="Loop 2300 HI: each diagnosis code once; SV107: up to four different pointers a line",
        cms_1500="Item 21 A–L: each code once; 24E: up to four different letters",
        example="837P: HI*ABK:M48062*ABF:Z006~  SV1*HC:0275T:Q0*9500*UN*1***1:2~",
        applies_to="All claims",
        certainty="likely",
        source="837P 005010X222A1; X12 RFI 2561 (as cited by a certified coder's review)",
        notes="The checker reports the same diagnosis twice (with or without the dot) as an error "
        "(DIAGNOSIS_DUPLICATE) and a pointer repeated on a line as a warning (DIAGNOSIS_POINTER_DUPLICATE).",
    ),
    ClaimField(
        item="Primary diagnosis M48.062 (lumbar stenosis with neurogenic claudication)",
        x12_837p="Loop 2300 HI, principal diagnosis: ABK:M48062",
        cms_1500="Item 21 A; pointer in 24E",
        example="837P: HI*ABK:M48062~",
        applies_to="mild® claims (the indication)",
        certainty="likely",
        source="mild.md",
        notes="M48.06 is a header, not billable; M48.061 (without claudication) does not fit the indication.",
    ),
    ClaimField(
        item="Condition code 30 (qualifying clinical trial)",
        x12_837p="Not used on the professional claim (837P)",
        cms_1500="Not used on the CMS-1500",
        example="Institutional only: UB-04 form locators 18–28; 837I loop 2300 HI*BG:30",
        applies_to="Hospital outpatient (institutional) claims for the same service",
        certainty="sure",
        source="NCD 150.13; mild.md",
        notes="The 837I/UB-04 location is standard but was not read from a file here (likely).",
    ),
    ClaimField(
        item="Place of service",
        x12_837p="Loop 2300 CLM05-1; SV105 on a line only when it differs",
        cms_1500="Item 24B",
        example="837P: CLM*PCN123*1500***22:B:1*…",
        applies_to="All claims; Medicare mild®: 22 (on-campus outpatient hospital) or 24 (ASC)",
        certainty="unverified",
        source="mild.md; LAYOUTS 7",
        notes="The POS limit is unverified: the checker warns rather than rejects. In a facility (19, 21, 22, 23, "
        "24…) the technical component is the facility's: modifier TC on the physician's claim draws a warning.",
    ),
    ClaimField(
        item="Line charge",
        x12_837p="Loop 2400 SV102, the amount: digits with up to two decimals",
        cms_1500="Item 24F",
        example="837P: SV1*HC:0275T:Q0*9500*UN*1***1:2~",
        applies_to="All claims",
        certainty="sure",
        source="837P 005010X222A1 (SV102 monetary amount)",
        notes="The checker refuses an amount with a '$', thousands separators, an exponent or more than two "
        "decimals (e.g. '$9,500.00', '1e3'), naming the field.",
    ),
)


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
        ("Claim fields", "where the NCT number, Q0, Z00.6 and condition code 30 go"),
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
                text = public_text(str(value))  # no internal references (billing.guide_text)
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
