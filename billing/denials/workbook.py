"""The denial report workbook (pure openpyxl over the rows of ``billing.denials.summary.summarise``).

One sheet, Denials: payer, group, CARC and its meaning, RARC and their meanings, procedure, month, count,
amount, rate, the checker rule that catches it and whether the claim's check had said so; a second sheet,
Codes, the CARC/RARC summaries used (the project's own words) with the list versions. Styles: ``billing.spreadsheets``.
"""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook

from billing.spreadsheets import CURRENCY, PERCENT, TITLE_FONT, Output, set_value, style_header, write

COLUMNS = [
    ("Payer", 18), ("Group", 7), ("CARC", 7), ("CARC meaning (our words)", 40), ("RARC", 12),
    ("RARC meaning (our words)", 40), ("Procedure", 10), ("Month", 9), ("Denials", 9), ("Amount", 12),
    ("Rate", 8), ("Rule that catches it", 30), ("Caught before", 9), ("Claims", 30),
]  # fmt: skip


def write_denial_report(title: str, rows: list[dict], carc: dict[str, str], rarc: dict[str, str], out: Output) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Denials"
    write(ws.cell(1, 1), title, font=TITLE_FONT)
    for col, (name, width) in enumerate(COLUMNS, start=1):
        cell = ws.cell(3, col)
        set_value(cell, name)
        style_header(cell, alignment=None)
        ws.column_dimensions[cell.column_letter].width = width
    for r, row in enumerate(rows, start=4):
        values = [
            row["payer"], row["group"], row["carc"], carc.get(row["carc"], "(not in the loaded list)"),
            " ".join(row["rarc"]), " | ".join(rarc.get(code, code) for code in row["rarc"]), row["code"],
            row.get("month", ""), row["count"], Decimal(row["amount"]), row["rate"],
            row["rule"] or "(none: unforeseen)", "yes" if row["caught_before"] else "no",
            " ".join(row.get("claims", [])),
        ]  # fmt: skip
        for col, value in enumerate(values, start=1):
            set_value(ws.cell(r, col), value)
        ws.cell(r, 10).number_format = CURRENCY
        ws.cell(r, 11).number_format = PERCENT
    ws.freeze_panes = "A4"
    codes = wb.create_sheet("Codes")
    for col, name in enumerate(["List", "Code", "Meaning (our words)"], start=1):
        set_value(codes.cell(1, col), name)
        style_header(codes.cell(1, col), alignment=None, border=None)
    used_carc = sorted({row["carc"] for row in rows})
    used_rarc = sorted({code for row in rows for code in row["rarc"]})
    r = 2
    for kind, used, meanings in (("CARC", used_carc, carc), ("RARC", used_rarc, rarc)):
        for code in used:
            for col, value in enumerate([kind, code, meanings.get(code, "(not in the loaded list)")], start=1):
                set_value(codes.cell(r, col), value)
            r += 1
    codes.column_dimensions["C"].width = 80
    wb.save(out)
