"""The results workbook of a batch upload (pure, openpyxl write-only): a Results sheet with one row per claim and
a Findings sheet with one row per finding."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import copy
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

RESULT_HEADERS = (
    "claim_ref",
    "row",
    "payer",
    "date_of_service",
    "status",
    "errors",
    "warnings",
    "info",
    "rules",
)
RESULT_WIDTHS = (18, 7, 18, 14, 10, 8, 9, 7, 60)
FINDING_HEADERS = ("claim_ref", "line", "severity", "rule", "message", "suggestion", "reference")
FINDING_WIDTHS = (18, 6, 10, 28, 70, 60, 60)
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="1F3864")
_WRAP = Alignment(wrap_text=True, vertical="top")
_STATUS_FONTS = {
    "error": Font(bold=True, color="C62828"),
    "warning": Font(bold=True, color="EF6C00"),
    "clean": Font(color="2E7D32"),
    "info": Font(color="1565C0"),
}


def result_row(result: Mapping) -> tuple:
    """One claim's row on the Results sheet."""
    counts = {"error": 0, "warning": 0, "info": 0}
    rules: list[str] = []
    for finding in result.get("findings", []):
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        if finding["rule"] not in rules:
            rules.append(finding["rule"])
    return (
        result.get("claim_ref", ""),
        result.get("row"),
        result.get("payer", ""),
        result.get("date_of_service", ""),
        result.get("status", ""),
        counts["error"],
        counts["warning"],
        counts["info"],
        ", ".join(rules),
    )


def write_results(out: IO[bytes] | str, results: Iterable[Mapping]) -> dict[str, int]:
    """The results workbook (openpyxl write-only, so any number of claims): a Results sheet with one row per
    claim and a Findings sheet with one row per finding, each with a frozen, filtered header.

    ``results`` are the contract's result objects with ``claim_ref``, ``row`` and ``payer`` added, in file
    order. Returns the number of claims by status.
    """
    workbook = Workbook(write_only=True)
    results_sheet = _sheet(workbook, "Results", RESULT_HEADERS, RESULT_WIDTHS)
    findings_sheet = _sheet(workbook, "Findings", FINDING_HEADERS, FINDING_WIDTHS)
    counts: dict[str, int] = {}
    claims = findings = 0
    for result in results:
        row = result_row(result)
        status = row[4]
        counts[status] = counts.get(status, 0) + 1
        cells = [_cell(results_sheet, v) for v in row]
        cells[4] = _cell(results_sheet, status, font=_STATUS_FONTS.get(status))
        results_sheet.append(cells)
        claims += 1
        for finding in result.get("findings", []):
            severity = finding["severity"]
            findings_sheet.append(
                [
                    _cell(findings_sheet, result.get("claim_ref", "")),
                    finding.get("line"),
                    _cell(findings_sheet, severity, font=_STATUS_FONTS.get(severity)),
                    finding["rule"],
                    *(
                        _cell(findings_sheet, finding.get(key) or "", alignment=_WRAP)
                        for key in ("message", "suggestion", "reference")
                    ),
                ]
            )
            findings += 1
    results_sheet.auto_filter.ref = f"A1:{get_column_letter(len(RESULT_HEADERS))}{claims + 1}"
    findings_sheet.auto_filter.ref = f"A1:{get_column_letter(len(FINDING_HEADERS))}{findings + 1}"
    workbook.save(out)
    _STYLE_CACHE.pop(id(results_sheet), None)
    _STYLE_CACHE.pop(id(findings_sheet), None)
    return counts


def _sheet(workbook: Workbook, title: str, headers: tuple[str, ...], widths: tuple[int, ...]):
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.append([_cell(sheet, h, font=_HEADER_FONT, fill=_HEADER_FILL) for h in headers])
    return sheet


def _cell(sheet, value: Any, *, font=None, fill=None, alignment=None):
    """A value for a write-only row: as it is when plain; text that looks like a formula stays text; a styled
    cell when a style is given."""
    is_text = isinstance(value, str)
    if is_text:
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not (font or fill or alignment or (is_text and value.startswith("="))):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if is_text:
        cell.data_type = "s"
    if font or fill or alignment:
        # openpyxl registers a style by hashing it on every assignment (a third of the time of a large results
        # workbook): register each combination once per sheet and give later cells the same style array.
        cache = _STYLE_CACHE.setdefault(id(sheet), {})
        key = (id(font), id(fill), id(alignment))
        if key not in cache:
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if alignment is not None:
                cell.alignment = alignment
            cache[key] = copy(cell._style)
        else:
            cell._style = copy(cache[key])
    return cell


_STYLE_CACHE: dict[int, dict] = {}
