"""NCCI medically unlikely edits (MUE), practitioner, outpatient hospital and DME tables (LAYOUTS.md 3.2).

Files: ``MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv``, ``MCR_MUE_OutpatientHospitalServices_Eff_...`` and
``MCR_MUE_DMESupplierServices_Eff_...``. CSV, latin-1: the first record is one quoted AMA notice running over
several lines followed by ``,,,``; then the header, whose first cell holds a line break:
``"HCPCS/\\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale``; then one
row per code. The adjudication indicator cell holds its label (``2 Date of Service Edit: Policy``): its first
character is the value. The file carries no dates: validity is the quarter starting on the name's ``Eff_`` date.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end (a
cut inside the last rationale, ``Code Des``, fails); every row has 4 cells, a whole-number value, an indicator
1, 2 or 3 with its label and a rationale. The table has no footer, so a cut on a line boundary is caught only by
the loader's expected count or its comparison with the release in force. The table (practitioner, outpatient
hospital, DME) is told by the name and the header (``name_table``, ``header_table``); the loader checks it against
the kind.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date

from ._tabular import PathLike, file_name, header_key, open_checked, quarter_end
from .base import FileInfo, FormatError
from .rows import MueRow
from .textfile import proves_whole

__all__ = ["parse", "file_info", "table_of", "TABLES"]

#: Table -> the second header column's wording and the file-name word.
TABLES = {
    "practitioner": ("PRACTITIONER SERVICES MUE VALUES", "PractitionerServices"),
    "hospital": ("OUTPATIENT HOSPITAL SERVICES MUE VALUES", "OutpatientHospitalServices"),
    "dme": ("DME SUPPLIER SERVICES MUE VALUES", "DMESupplierServices"),
}
_HEADER_SCAN_RECORDS = 10
_EFF = re.compile(r"_Eff_(\d\d)-(\d\d)-(\d{4})", re.IGNORECASE)
_CODE = re.compile(r"[0-9A-Z]{5}")
_INDICATORS = {"1": 1, "2": 2, "3": 3}


def _table_from_name(path: PathLike) -> str | None:
    name = file_name(path).lower()
    for table, (_, word) in TABLES.items():
        if f"mue_{word.lower()}" in name:
            return table
    return None


def _table_from_header(cell: str) -> str | None:
    key = header_key(cell)
    for table, (wording, _) in TABLES.items():
        if key == wording:
            return table
    return None


def _is_header(row: list[str]) -> bool:
    if len(row) < 4:
        return False
    first = header_key(row[0]).replace(" ", "")
    return first == "HCPCS/CPTCODE" and "MUE VALUES" in header_key(row[1])


def table_of(path: PathLike) -> str | None:
    """``"practitioner"``, ``"hospital"`` or ``"dme"``: from the file name, else from the header's second column."""
    return _table_from_name(path) or header_table(path)


def name_table(name: str) -> str | None:
    """The table the file name says (``MCR_MUE_OutpatientHospitalServices_...`` -> ``"hospital"``), or None."""
    return _table_from_name(name)


def header_table(path: PathLike) -> str | None:
    """The table the header's second column says (``Practitioner Services MUE Values``), or None."""
    try:
        with open_checked(path, newline="") as fh:
            reader = csv.reader(fh)
            for _, row in zip(range(_HEADER_SCAN_RECORDS), reader):
                if _is_header(row):
                    return _table_from_header(row[1])
    except (FormatError, OSError, csv.Error):
        return None
    return None


@proves_whole("an NCCI MUE file")
def parse(path: PathLike) -> Iterator[MueRow]:
    """MueRow per code. FormatError on a wrong or unexpected header, a bad value or indicator, a repeated code,
    or a header naming another table than the file name does."""
    name = str(path)
    with open_checked(path, newline="") as fh:
        reader = csv.reader(fh)
        header: list[str] | None = None
        try:
            for _, row in zip(range(_HEADER_SCAN_RECORDS), reader):
                if _is_header(row):
                    header = row
                    break
        except csv.Error as exc:
            raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
        if header is None:
            raise FormatError(
                "this does not look like an NCCI MUE file: no 'HCPCS/CPT Code, ... MUE Values' header", file=name
            )
        at = reader.line_num
        table = _table_from_header(header[1])
        if table is None:
            raise FormatError(f"unexpected header: unknown MUE table {header[1]!r}", file=name, line=at)
        named = _table_from_name(path)
        if named and named != table:
            raise FormatError(f"the file name says the {named} table but the header says {table}", file=name, line=at)
        rest = [header_key(c) for c in header[2:]]
        if rest[:2] != ["MUE ADJUDICATION INDICATOR", "MUE RATIONALE"] or any(rest[2:]):
            raise FormatError(f"unexpected header: {', '.join(header)}", file=name, line=at)
        seen: dict[str, int] = {}
        try:
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) < 4:
                    raise FormatError(f"truncated record: {len(row)} of 4 columns", file=name, line=line)
                if any(c.strip() for c in row[4:]):
                    raise FormatError(f"{len(row)} columns where the header has 4", file=name, line=line)
                code = row[0].strip().upper()
                if not _CODE.fullmatch(code):
                    raise FormatError(f"{row[0]!r} is not a 5-character HCPCS/CPT code", file=name, line=line)
                value_text = row[1].strip()
                if not value_text.isdigit():
                    raise FormatError(f"{row[1]!r} is not a whole number", file=name, line=line, field="MUE Values")
                indicator_text = row[2].strip()
                indicator = _INDICATORS.get(indicator_text[:1])
                if indicator is None or (len(indicator_text) > 1 and indicator_text[1] != " "):
                    raise FormatError(
                        f"{row[2]!r} is not an adjudication indicator (1, 2 or 3 and its label)",
                        file=name,
                        line=line,
                        field="MUE Adjudication Indicator",
                    )
                rationale = row[3].strip()
                if not rationale:
                    raise FormatError("missing MUE rationale", file=name, line=line, field="MUE Rationale")
                if code in seen:
                    raise FormatError(f"duplicate code {code} (first on line {seen[code]})", file=name, line=line)
                seen[code] = line
                yield MueRow(code=code, value=int(value_text), adjudication_indicator=indicator, rationale=rationale)
        except csv.Error as exc:
            raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
    if not seen:
        raise FormatError("no MUE rows after the header", file=name)


def file_info(path: PathLike) -> FileInfo:
    """``..._Eff_07-01-2026.csv`` -> 2026-07-01 to 2026-09-30, label "MUE practitioner 2026-07-01".
    The dates come only from the name; without an ``Eff_`` date they are None."""
    table = table_of(path)
    match = _EFF.search(file_name(path))
    if not match:
        return FileInfo(label=f"MUE {table}" if table else None)
    month, day, year = (int(g) for g in match.groups())
    try:
        start = date(year, month, day)
    except ValueError:
        return FileInfo(label=f"MUE {table}" if table else None)
    return FileInfo(start, quarter_end(start), f"MUE {table or 'table'} {start.isoformat()}")
