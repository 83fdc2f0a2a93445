"""Shared openpyxl helpers for the guide and report workbooks: styles, safe cell values, print set-up.

Pure (openpyxl only). Values are written as what they are: numbers as numbers (``Decimal`` included),
dates as dates, text as text. Text that starts with "=" stays text (never a formula that could show
#NAME?), and characters Excel cannot store are dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import IO

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
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
