"""The reference for billing.uploads.sheetxml: the results workbook as openpyxl (write-only) wrote it before the
chunks rendered their own rows (a Results sheet with one row per claim, a Findings sheet with one row per finding).
The tests compare what sheetxml writes, read back, with what this gives for the same results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import IO

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from billing.spreadsheets import SEVERITY_FONTS, WRAP_TOP, WriteOnlyCells, set_widths

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
    results_sheet, result_cell = _sheet(workbook, "Results", RESULT_HEADERS, RESULT_WIDTHS)
    findings_sheet, finding_cell = _sheet(workbook, "Findings", FINDING_HEADERS, FINDING_WIDTHS)
    counts: dict[str, int] = {}
    claims = findings = 0
    for result in results:
        row = result_row(result)
        status = row[4]
        counts[status] = counts.get(status, 0) + 1
        cells = [result_cell(v) for v in row]
        cells[4] = result_cell(status, font=SEVERITY_FONTS.get(status))
        results_sheet.append(cells)
        claims += 1
        for finding in result.get("findings", []):
            severity = finding["severity"]
            findings_sheet.append(
                [
                    finding_cell(result.get("claim_ref", "")),
                    finding.get("line"),
                    finding_cell(severity, font=SEVERITY_FONTS.get(severity)),
                    finding["rule"],
                    *(
                        finding_cell(finding.get(key) or "", alignment=WRAP_TOP)
                        for key in ("message", "suggestion", "reference")
                    ),
                ]
            )
            findings += 1
    results_sheet.auto_filter.ref = f"A1:{get_column_letter(len(RESULT_HEADERS))}{claims + 1}"
    findings_sheet.auto_filter.ref = f"A1:{get_column_letter(len(FINDING_HEADERS))}{findings + 1}"
    workbook.save(out)
    return counts


def _sheet(workbook: Workbook, title: str, headers: tuple[str, ...], widths: tuple[int, ...]):
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    set_widths(sheet, widths)
    cells = WriteOnlyCells(sheet)
    sheet.append(cells.header(headers, alignment=None))
    return sheet, cells
