"""The procedure billing guide workbook (Overview, Coverage, Coding, Claim fields, Payment, Changes, Sources).

Pure: ``write_billing_guide`` turns a ``GuideData`` (``billing.guide.data``: plain frozen data, filled by
``billing.guide.build`` from the database) into an xlsx file, styled through ``billing.spreadsheets``.
Amount cells hold a ``Decimal`` (written as a number in currency format) or a short text saying why
there is no amount ("carrier priced", "not loaded"): a cell never holds a formula or a false $0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from billing.guide.data import GuideData
from billing.guide.text import public_text
from billing.spreadsheets import (
    BOLD,
    CF_FORMAT,
    CURRENCY,
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
    style_header,
    write,
)

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
    write(ws.cell(TITLE_ROW, 1), heading, font=TITLE_FONT)
    write(ws.cell(SUBTITLE_ROW, 1), stamp, font=SUBTITLE_FONT)
    facts: list[tuple[str, object, str | None]] = [
        ("Procedure", guide.procedure, None),
        ("Year", guide.year, "0"),
        ("Locality", f"{guide.locality.code} {guide.locality.name}" if guide.locality else "national only", None),
        ("Generated", _stamp(guide.generated_at), None),
        ("PFS conversion factor", guide.conversion_factor if guide.conversion_factor else "not loaded", CF_FORMAT),
    ]
    row = HEADER_ROW
    for label, value, number_format in facts:
        write(ws.cell(row, 1), label, font=BOLD)
        cell = ws.cell(row, 2)
        write(cell, value, alignment=Alignment(horizontal="left", vertical="top"))
        if number_format and is_number(value):
            cell.number_format = number_format
        row += 1
    row += 1
    write(ws.cell(row, 1), "Disclaimer", font=BOLD)
    _paragraph(ws, row, guide.disclaimer)
    row += 2
    for i, text in enumerate(guide.summary):
        if i == 0:
            write(ws.cell(row, 1), "Summary", font=BOLD)
        _paragraph(ws, row, text)
        row += 1
    row += 1
    write(ws.cell(row, 1), "Sheets", font=BOLD)
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
    write(ws.cell(TITLE_ROW, 1), title, font=TITLE_FONT)
    write(ws.cell(SUBTITLE_ROW, 1), subtitle, font=SUBTITLE_FONT)
    for col, column in enumerate(columns, 1):
        cell = ws.cell(HEADER_ROW, col)
        set_value(cell, column.header)
        style_header(cell)
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
        write(ws.cell(FIRST_DATA_ROW, 1), "none", font=STATUS_FONT)


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
