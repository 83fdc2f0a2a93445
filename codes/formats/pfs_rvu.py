"""PFS relative value file (PPRRVU), CSV and fixed-width TXT forms (LAYOUTS.md sections 4.1 to 4.3).

CSV: a preamble (title, AMA and ADA notices, ``RELEASED mm/dd/yyyy``), a header stacked over several rows
whose last row starts ``HCPCS,MOD,DESCRIPTION``, then one row per code and modifier. The stacked cells are
joined column by column (``NON-FAC`` / ``PE RVU`` -> ``NON-FAC PE RVU``) and columns are found by those names,
so the 2025 layout (31 columns) and the 2026 one (32: ``PRIC IND`` inserted before ``ENDO BASE``) both read.

TXT: ``HDR`` lines, then 171-character records (172 with the CR) at the CY2025 positions of LAYOUTS 4.2.
Those positions are only verified for CY2025; 2026 inserts ``PRIC IND`` and its TXT positions are unknown.
The HDR text cannot tell the layouts apart (the CY2025 October file's HDR already says "2026 American Medical
Association"), so a TXT is refused when its name says CY2026 or later, when a record is not exactly 171
characters, or when the filler at 121-127 holds anything: a newer layout fails loudly instead of being misread.
Use the CSV for 2026.

CPT descriptors are the AMA's: ``description`` is "" for codes that start with a digit. HCPCS Level II text
(codes that start with a letter) is public and kept.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end
(LF in the real CSV, CRLF in the TXT); a CSV row has every column of the header, a TXT record exactly 171
characters; RVUs have exactly 2 decimals and the conversion factor exactly 4 (``7.30``, ``32.3465``, in every
real row of both forms), so a value cut inside (``7.3``, ``32.34``) fails. Neither form has a footer: the last
record is the last line, so a cut on a line boundary is caught only by the loader's expected count or its
comparison with the release in force.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from ._tabular import (
    MONTH_ABBR,
    MONTHS,
    PathLike,
    file_name,
    flatten_stacked,
    header_key,
    open_checked,
    quarter_end,
    to_decimal,
)
from .base import FileInfo, FormatError
from .rows import RvuRow
from .textfile import proves_whole

__all__ = ["parse", "parse_csv", "parse_txt", "file_info", "released"]

TXT_RECORD_LENGTH = 171  # LAYOUTS 4.1 says 172: that count includes the CR of CRLF
_HEADER_SCAN_ROWS = 40

# Flattened CSV column names for each RvuRow field (LAYOUTS 4.2, CSV paragraph).
_CSV_COLUMNS: dict[str, str] = {
    "code": "HCPCS",
    "modifier": "MOD",
    "description": "DESCRIPTION",
    "status": "STATUS CODE",
    "not_used": "NOT USED FOR MEDICARE PAYMENT",
    "work_rvu": "WORK RVU",
    "pe_nonfacility_rvu": "NON-FAC PE RVU",
    "pe_nonfacility_na": "NON-FAC NA INDICATOR",
    "pe_facility_rvu": "FACILITY PE RVU",
    "pe_facility_na": "FACILITY NA INDICATOR",
    "mp_rvu": "MP RVU",
    "total_nonfacility": "NON-FACILITY TOTAL",
    "total_facility": "FACILITY TOTAL",
    "pctc_indicator": "PCTC IND",
    "global_days": "GLOB DAYS",
    "mult_proc": "MULT PROC",
    "bilat_surg": "BILAT SURG",
    "asst_surg": "ASST SURG",
    "co_surg": "CO-SURG",
    "team_surg": "TEAM SURG",
    "conversion_factor": "CONV FACTOR",
}

# TXT positions (0-based slices of the 1-based LAYOUTS 4.2 table).
_TXT_SLICES: dict[str, tuple[int, int]] = {
    "code": (0, 5),
    "modifier": (5, 7),
    "description": (7, 57),
    "status": (57, 58),
    "not_used": (58, 59),  # "+" on some non-payable rows; not in the layout table, matches the CSV column
    "work_rvu": (59, 65),
    "pe_nonfacility_rvu": (66, 72),
    "pe_nonfacility_na": (72, 74),
    "pe_facility_rvu": (75, 81),
    "pe_facility_na": (81, 83),
    "mp_rvu": (84, 89),
    "total_nonfacility": (90, 96),
    "total_facility": (96, 102),
    "pctc_indicator": (102, 103),
    "global_days": (103, 106),
    "mult_proc": (115, 116),
    "bilat_surg": (116, 117),
    "asst_surg": (117, 118),
    "co_surg": (118, 119),
    "team_surg": (119, 120),
    "conversion_factor": (132, 140),
}
_TXT_FILLER = (120, 127)
_TXT_BLANKS = (65, 74, 83, 89, 140, 144, 147, 148, 149, 150, 157, 164)

_DECIMAL_FIELDS = (
    "work_rvu",
    "pe_nonfacility_rvu",
    "pe_facility_rvu",
    "mp_rvu",
    "total_nonfacility",
    "total_facility",
    "conversion_factor",
)
_CODE = re.compile(r"[0-9A-Z]{5}")
_DECIMALS = {2: re.compile(r"-?\d*\.\d\d"), 4: re.compile(r"-?\d*\.\d{4}")}
_MODIFIER = re.compile(r"(?:[0-9A-Z]{2})?")
_NAME = re.compile(r"PPRRVU(\d{4}|\d{2})_([A-Za-z]{3})(?:_(nonQPP|QPP))?", re.IGNORECASE)
_TITLE = re.compile(r"(\d{4}) National Physician Fee Schedule Relative Value File (\w+) Release", re.IGNORECASE)
_RELEASED = re.compile(r"RELEASED\s+(\d{1,2}/\d{1,2}/\d{4})", re.IGNORECASE)


def parse(path: PathLike) -> Iterator[RvuRow]:
    """Rows of a PPRRVU file, CSV or TXT (told apart by content: the TXT starts with ``HDR`` lines)."""
    with open_checked(path) as fh:
        first = fh.readline()
    if first.startswith("HDR"):
        return parse_txt(path)
    return parse_csv(path)


def _build(values: dict[str, str], *, file: str, line: int) -> RvuRow:
    """One RvuRow from the raw text of each field, validated."""
    code = values["code"].strip().upper()
    if not _CODE.fullmatch(code):
        raise FormatError(f"{values['code']!r} is not a 5-character HCPCS code", file=file, line=line, field="HCPCS")
    modifier = values["modifier"].strip().upper()
    if not _MODIFIER.fullmatch(modifier):
        raise FormatError(f"{values['modifier']!r} is not a modifier", file=file, line=line, field="MOD")
    status = values["status"].strip()
    if len(status) != 1:
        raise FormatError(f"{values['status']!r} is not a status code", file=file, line=line, field="STATUS CODE")
    if values["not_used"].strip() not in ("", "+"):
        raise FormatError(
            f"{values['not_used']!r} is neither blank nor '+'", file=file, line=line, field="NOT USED FOR MEDICARE"
        )
    numbers: dict[str, Decimal | None] = {}
    for name in _DECIMAL_FIELDS:
        numbers[name] = to_decimal(values[name], file=file, line=line, field=name)
        text = values[name].strip()
        places = 4 if name == "conversion_factor" else 2
        if numbers[name] is not None and not _DECIMALS[places].fullmatch(text):
            raise FormatError(
                f"{text!r} is not a number with exactly {places} decimals: a value cut short?",
                file=file,
                line=line,
                field=name,
            )
    flags: dict[str, bool] = {}
    for name in ("pe_nonfacility_na", "pe_facility_na"):
        flag = values[name].strip().upper()
        if flag not in ("", "NA"):
            raise FormatError(f"{values[name]!r} is neither blank nor NA", file=file, line=line, field=name)
        flags[name] = flag == "NA"
    return RvuRow(
        code=code,
        modifier=modifier,
        description="" if code[0].isdigit() else values["description"].strip(),
        status=status,
        pctc_indicator=values["pctc_indicator"].strip(),
        global_days=values["global_days"].strip(),
        mult_proc=values["mult_proc"].strip(),
        bilat_surg=values["bilat_surg"].strip(),
        asst_surg=values["asst_surg"].strip(),
        co_surg=values["co_surg"].strip(),
        team_surg=values["team_surg"].strip(),
        **numbers,
        **flags,
    )


def _check_unique(row: RvuRow, seen: dict[tuple[str, str], int], *, file: str, line: int) -> None:
    key = (row.code, row.modifier)
    if key in seen:
        shown = row.code + (f"-{row.modifier}" if row.modifier else "")
        raise FormatError(f"duplicate code {shown} (first on line {seen[key]})", file=file, line=line, field="HCPCS")
    seen[key] = line


def _is_header_row(row: list[str]) -> bool:
    return len(row) >= 3 and [header_key(c) for c in row[:3]] == ["HCPCS", "MOD", "DESCRIPTION"]


@proves_whole("a PFS relative value (PPRRVU) CSV")
def parse_csv(path: PathLike) -> Iterator[RvuRow]:
    """Rows of a PPRRVU CSV (2025: 31 columns, 2026: 32), columns mapped by their flattened header names."""
    name = str(path)
    with open_checked(path, newline="") as fh:
        reader = csv.reader(fh)
        above: list[list[str]] = []
        header: list[str] | None = None
        try:
            for row in reader:
                if _is_header_row(row):
                    header = row
                    break
                above.append(row)
                if len(above) >= _HEADER_SCAN_ROWS:
                    break
        except csv.Error as exc:
            raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
        if header is None:
            raise FormatError(
                "this does not look like a PFS relative value (PPRRVU) CSV:"
                " no header row starting HCPCS,MOD,DESCRIPTION",
                file=name,
                line=reader.line_num or None,
            )
        # The stacked header: the rows just above the last one that have text beyond the first three columns.
        stack: list[list[str]] = []
        for row in reversed(above):
            if not any(c.strip() for c in row[3:]):
                break
            stack.insert(0, row)
        width = len(header)
        columns = flatten_stacked([*stack, header], width)
        index: dict[str, int] = {}
        for field, wanted in _CSV_COLUMNS.items():
            found = [i for i, c in enumerate(columns) if header_key(c) == wanted]
            if len(found) != 1:
                problem = "missing" if not found else "repeated"
                raise FormatError(
                    f"unexpected header: column {wanted!r} is {problem} (columns: {', '.join(columns)})",
                    file=name,
                    line=reader.line_num,
                )
            index[field] = found[0]
        seen: dict[tuple[str, str], int] = {}
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) < width:
                raise FormatError(f"truncated record: {len(row)} of {width} columns", file=name, line=line)
            if any(c.strip() for c in row[width:]):
                raise FormatError(f"{len(row)} columns where the header has {width}", file=name, line=line)
            record = _build({field: row[i] for field, i in index.items()}, file=name, line=line)
            _check_unique(record, seen, file=name, line=line)
            yield record
    if not seen:
        raise FormatError("no data rows after the header", file=name)


@proves_whole("a PFS relative value (PPRRVU) TXT")
def parse_txt(path: PathLike) -> Iterator[RvuRow]:
    """Rows of a CY2025-layout PPRRVU TXT (LAYOUTS 4.2). Newer layouts are refused, see the module docstring."""
    name = str(path)
    year = _name_year(file_name(path))
    if year is not None and year >= 2026:
        raise FormatError(
            f"the CY{year} PPRRVU TXT layout (with PRIC IND) has no verified positions; load the CSV instead",
            file=name,
        )
    seen: dict[tuple[str, str], int] = {}
    with open_checked(path) as fh:
        in_header = True
        for line_no, raw in enumerate(fh, start=1):
            text = raw.rstrip("\r\n")
            if in_header:
                if text.startswith("HDR"):
                    continue
                if line_no == 1:
                    raise FormatError(
                        "this does not look like a PFS relative value (PPRRVU) TXT: no HDR lines", file=name, line=1
                    )
                in_header = False
            if not text.strip():
                continue
            if len(text) != TXT_RECORD_LENGTH:
                what = "truncated record" if len(text) < TXT_RECORD_LENGTH else "record too long"
                raise FormatError(
                    f"{what}: {len(text)} characters where the CY2025 layout has {TXT_RECORD_LENGTH}"
                    " (a newer layout? load the CSV)",
                    file=name,
                    line=line_no,
                )
            start, end = _TXT_FILLER
            if text[start:end].strip() or any(text[i] != " " for i in _TXT_BLANKS):
                raise FormatError(
                    "characters where the CY2025 layout has spaces: not the CY2025 PPRRVU layout (load the CSV)",
                    file=name,
                    line=line_no,
                )
            values = {field: text[a:b] for field, (a, b) in _TXT_SLICES.items()}
            record = _build(values, file=name, line=line_no)
            _check_unique(record, seen, file=name, line=line_no)
            yield record
    if not seen:
        raise FormatError("no data records after the HDR lines", file=name)


def _name_year(name: str) -> int | None:
    match = _NAME.search(name)
    if not match:
        return None
    year = int(match.group(1))
    return year + 2000 if year < 100 else year


def file_info(path: PathLike) -> FileInfo:
    """Dates from the name (``PPRRVU2025_Oct.csv``, ``PPRRVU25_JAN.txt``, ``PPRRVU2026_Jul_nonQPP.csv``):
    the first day of that month to the end of its quarter. Failing that, from a CSV's title line
    (``2025 National Physician Fee Schedule Relative Value File October Release``)."""
    match = _NAME.search(file_name(path))
    if match:
        year = _name_year(match.group(0))
        month = MONTHS.get(match.group(2).lower())
        if year is not None and month is not None:
            start = date(year, month, 1)
            label = f"PFS RVU {year} {MONTH_ABBR[month]}"
            variant = match.group(3)
            if variant:
                label += " nonQPP" if variant.lower() == "nonqpp" else " QPP"
            return FileInfo(start, quarter_end(start), label)
    for text in _preamble(path):
        title = _TITLE.search(text)
        if title and title.group(2).lower() in MONTHS:
            year, month = int(title.group(1)), MONTHS[title.group(2).lower()]
            start = date(year, month, 1)
            return FileInfo(start, quarter_end(start), f"PFS RVU {year} {MONTH_ABBR[month]}")
    return FileInfo()


def released(path: PathLike) -> date | None:
    """The ``RELEASED mm/dd/yyyy`` date from a CSV preamble (the TXT has none)."""
    for text in _preamble(path):
        match = _RELEASED.search(text)
        if match:
            try:
                return datetime.strptime(match.group(1), "%m/%d/%Y").date()
            except ValueError:
                return None
    return None


def _preamble(path: PathLike) -> list[str]:
    """The text of the lines before the header (empty on unreadable files)."""
    lines: list[str] = []
    try:
        with open_checked(path) as fh:
            for _ in range(_HEADER_SCAN_ROWS):
                line = fh.readline()
                if not line or line.upper().startswith("HCPCS,"):
                    break
                lines.append(line)
    except (FormatError, OSError):
        return []
    return lines
