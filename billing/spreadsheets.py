"""The one place for workbook styles and cell helpers: the guide, check report, denial report and upload results
workbooks all write through it.

Pure (openpyxl only). Values are written as what they are: numbers as numbers (``Decimal`` included),
dates as dates, text as text. Text that starts with "=" stays text (never a formula that could show
#NAME?), and characters Excel cannot store are dropped.

Ordinary sheets: ``write`` (a value and its style in one cell), ``style_header``, ``print_setup``.
Write-only sheets (streamed, any number of rows): ``WriteOnlyCells`` makes a row's cells, registering each
style once per sheet; ``WriteOnlyTable`` is a titled table with a styled, frozen, filtered header.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

CURRENCY = '"$"#,##0.00'
CF_FORMAT = '"$"#,##0.0000'
DATE_FORMAT = "yyyy-mm-dd"
PERCENT = "0.0%"
INTEGER = "#,##0"

TITLE_FONT = Font(bold=True, size=14, color="1F3864")
SUBTITLE_FONT = Font(italic=True, size=10, color="595959")
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
STATUS_FONT = Font(italic=True, color="7F7F7F")  # a text in place of an amount
LINK_FONT = Font(color="0563C1", underline="single")
BOLD = Font(bold=True)
THIN = Side(style="thin", color="BFBFBF")
HEADER_BORDER = Border(bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
SEVERITY_FONTS = {  # a claim's status or a finding's severity (upload results)
    "error": Font(bold=True, color="C62828"),
    "warning": Font(bold=True, color="EF6C00"),
    "clean": Font(color="2E7D32"),
    "info": Font(color="1565C0"),
}

Output = str | IO[bytes]


def clean_text(value: str) -> str:
    """Drop characters the xlsx format cannot hold (control characters)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def set_value(cell, value) -> None:
    """Put ``value`` in ``cell`` as its own type; text is never turned into a formula."""
    if value is None:
        return
    if isinstance(value, str):
        cell.value = clean_text(value)
        cell.data_type = "s"  # a leading "=" stays text
        return
    if isinstance(value, datetime) and value.tzinfo is not None:
        cell.value = value.strftime("%Y-%m-%d %H:%M %Z").strip()
        cell.data_type = "s"
        return
    cell.value = value
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT


def write(cell, value, *, font: Font | None = None, alignment: Alignment | None = None) -> None:
    """``set_value`` and the cell's font and alignment, when given."""
    set_value(cell, value)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment


def style_header(cell, *, alignment: Alignment | None = HEADER_ALIGN, border: Border | None = HEADER_BORDER) -> None:
    """A table header cell's look: white bold on dark blue (wrapped, with a rule below unless told otherwise)."""
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    if alignment is not None:
        cell.alignment = alignment
    if border is not None:
        cell.border = border


def is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def print_setup(ws: Worksheet, header_row: int | None, title: str) -> None:
    """Landscape, fitted to one page wide, header row repeated, title and page numbers in the margins."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_LETTER
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.oddHeader.left.text = clean_text(title).replace("&", "&&")
    ws.oddHeader.left.size = 9
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.right.size = 9


# ---- write-only sheets ------------------------------------------------------------------------------


class WriteOnlyCells:
    """The cells of a write-only sheet's rows: ``cells(value, font=..., number_format=...)``.

    A plain value is returned as it is (the fast path); text that would read as a formula or an error code, and any
    styled value, becomes a ``WriteOnlyCell`` holding text as text. openpyxl registers a style by hashing it on every
    assignment (a third of the time of a large workbook), so each combination of styles is assigned once, to a
    template cell, and copied after: a write-only cell is written once, when its row is appended, never restyled.
    """

    def __init__(self, ws):
        self.ws = ws
        self._templates: dict[tuple, Any] = {}

    def __call__(
        self,
        value: Any,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        alignment: Alignment | None = None,
        number_format: str | None = None,
    ):
        is_text = isinstance(value, str)
        if is_text:
            value = clean_text(value)
        styled = font is not None or fill is not None or alignment is not None or number_format
        if not styled and not (is_text and (value.startswith("=") or value in ERROR_CODES)):
            return value
        if isinstance(value, date | time | timedelta):  # a date sets its cell's number format: never on a shared style
            cell = self._template(font, fill, alignment, number_format)
        else:
            key = (id(font), id(fill), id(alignment), number_format)
            entry = self._templates.get(key)
            if entry is None:  # the styles are kept with their template, so their ids stay theirs
                template = self._template(font, fill, alignment, number_format)
                entry = self._templates[key] = (template, font, fill, alignment)
            cell = copy(entry[0])
        cell.value = value
        if is_text:
            cell.data_type = "s"  # a leading "=" stays text
        return cell

    def _template(self, font, fill, alignment, number_format):
        template = WriteOnlyCell(self.ws)
        if font is not None:
            template.font = font
        if fill is not None:
            template.fill = fill
        if alignment is not None:
            template.alignment = alignment
        if number_format:
            template.number_format = number_format
        return template

    def header(self, texts: Iterable[str], *, alignment: Alignment | None = HEADER_ALIGN) -> list:
        """A header row's cells: white bold on dark blue."""
        return [self(text, font=HEADER_FONT, fill=HEADER_FILL, alignment=alignment) for text in texts]


class WriteOnlyTable:
    """A write-only table sheet: title, subtitle, a blank row, then a styled header row (row 4), frozen,
    filtered and repeated on printed pages. Widths and views are set before the first row is written."""

    header_row = 4

    def __init__(self, wb: Workbook, title: str, heading: str, subtitle: str, headers: list[tuple[str, int]]):
        self.ws = wb.create_sheet(title)
        self.cells = WriteOnlyCells(self.ws)
        self.width = len(headers)
        set_widths(self.ws, [width for _, width in headers])
        self.ws.freeze_panes = f"A{self.header_row + 1}"
        print_setup(self.ws, self.header_row, heading)
        self.ws.append([self.cells(heading, font=TITLE_FONT)])
        self.ws.append([self.cells(subtitle, font=SUBTITLE_FONT)])
        self.ws.append([])
        self.ws.append(self.cells.header(text for text, _ in headers))
        self.rows = self.header_row

    def row(self, values: list, formats: dict[int, str] | None = None) -> None:
        """Append a data row; ``formats`` maps a 0-based column to a number format."""
        formats = formats or {}
        self.ws.append(
            [None if v is None else self.cells(v, number_format=formats.get(i)) for i, v in enumerate(values)]
        )
        self.rows += 1

    def finish(self) -> None:
        last = get_column_letter(self.width)
        self.ws.auto_filter.ref = f"A{self.header_row}:{last}{max(self.rows, self.header_row + 1)}"


def set_widths(ws, widths: Iterable[int]) -> None:
    """Column widths from column A on (a write-only sheet: before its first row)."""
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
