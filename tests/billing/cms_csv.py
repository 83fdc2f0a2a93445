"""A tiny reader of the real CMS PFS CSVs for the payment tests (the product's parsers live elsewhere).

Columns are found by name: the CSV's header is stacked over several lines, so each column's name is
the words of those lines joined (``NON-FAC PE RVU``, ``FACILITY NA INDICATOR``, ``CONV FACTOR``).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from functools import cache
from pathlib import Path

from codes.formats.rows import GpciRow, RvuRow


def _decimal(text: str) -> Decimal | None:
    text = text.strip()
    return Decimal(text) if text else None


def _header_names(lines: list[list[str]], header_at: int) -> list[str]:
    width = len(lines[header_at])
    names = []
    for col in range(width):
        parts = [line[col].strip() for line in lines[max(0, header_at - 4) : header_at + 1] if col < len(line)]
        names.append(" ".join(p for p in parts if p))
    return names


@cache
def read_pprrvu(path: Path) -> dict[tuple[str, str], RvuRow]:
    """Every row of a PPRRVU CSV by (code, modifier)."""
    with open(path, newline="", encoding="latin-1") as fh:
        lines = list(csv.reader(fh))
    header_at = next(i for i, line in enumerate(lines) if line and line[0].strip() == "HCPCS")
    names = _header_names(lines, header_at)
    col = {name: i for i, name in enumerate(names)}

    def get(line: list[str], name: str) -> str:
        return line[col[name]].strip()

    out = {}
    for line in lines[header_at + 1 :]:
        if not line or not line[0].strip():
            continue
        row = RvuRow(
            code=get(line, "HCPCS"),
            modifier=get(line, "MOD"),
            description=get(line, "DESCRIPTION"),
            status=get(line, "STATUS CODE"),
            work_rvu=_decimal(get(line, "WORK RVU")),
            pe_nonfacility_rvu=_decimal(get(line, "NON-FAC PE RVU")),
            pe_nonfacility_na=get(line, "NON-FAC NA INDICATOR") == "NA",
            pe_facility_rvu=_decimal(get(line, "FACILITY PE RVU")),
            pe_facility_na=get(line, "FACILITY NA INDICATOR") == "NA",
            mp_rvu=_decimal(get(line, "MP RVU")),
            total_nonfacility=_decimal(get(line, "NON-FACILITY TOTAL")),
            total_facility=_decimal(get(line, "FACILITY TOTAL")),
            pctc_indicator=get(line, "PCTC IND"),
            global_days=get(line, "GLOB DAYS"),
            mult_proc=get(line, "MULT PROC"),
            bilat_surg=get(line, "BILAT SURG"),
            asst_surg=get(line, "ASST SURG"),
            co_surg=get(line, "CO- SURG"),
            team_surg=get(line, "TEAM SURG"),
            conversion_factor=_decimal(get(line, "CONV FACTOR")),
        )
        out[(row.code, row.modifier)] = row
    return out


@cache
def read_gpci(path: Path) -> dict[tuple[str, str], GpciRow]:
    """Every locality of a GPCI CSV by (MAC, locality), stopping at the first row without a locality."""
    with open(path, newline="", encoding="latin-1") as fh:
        lines = list(csv.reader(fh))
    header_at = next(i for i, line in enumerate(lines) if line and line[0].startswith("Medicare Administrative"))
    out = {}
    for line in lines[header_at + 1 :]:
        if len(line) < 7 or not line[2].strip():
            break
        mac, state, locality, name, work, pe, mp = (v.strip() for v in line[:7])
        out[(mac, locality)] = GpciRow(mac, state, locality, name, Decimal(work), Decimal(pe), Decimal(mp))
    return out
