"""Parser for the CMS HCPCS Level II alpha-numeric file (LAYOUTS section 2), in its three forms.

- TXT (``HCPC2020_ANWEB_w_disclaimer.txt``, ``HCPC2026_OCT_ANWEB_v2.txt``): 320-character fixed-width records
  (LAYOUTS 2.1), CRLF, cp1252/latin-1, after a free-text disclaimer preamble. A first record (RECID 3 for a
  procedure, 7 for a modifier) carries every field; continuation records (RECID 4/8, SEQNUM 00200, 00300...) carry
  only more long description, up to column 91.
- CSV and XLSX (``HCPC2025_JAN_ANWEB_12172024.xlsx``): one row per record, continuation rows included, under the
  header ``HCPC,SEQNUM,RECID,LONG DESCRIPTION,...,ACTION CD`` (SEQNUM ``0010``, ``0020``...).

``parse`` picks the form from the suffix and yields one ``HcpcsRow`` per code: the continuation descriptions
joined in SEQNUM order, one space between the parts. Modifiers (right-justified ``   Q0`` in the TXT) come out
as their two characters with ``is_modifier`` True.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): TXT and CSV: the last line has its
line end; a first record reaches ACTION CD (293), a continuation its long description (91); a CSV row has every
header cell. XLSX: the zip directory (at the end of the file) must be readable and every member pass its CRC check
before openpyxl reads it. No form has a footer. A cut on a line boundary that drops whole codes is caught by the
loader's expected count or its comparison with the release in force; a cut just before the LAST code's
continuation records cannot be told: the long description is word-wrapped at up to 80 characters per record
(real first records of continued codes end anywhere from column 62 to 80), so the code keeps only its first part.
"""

from __future__ import annotations

import calendar
import csv
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from .base import MONTH_ABBR, FileInfo, FormatError, parse_yyyymmdd
from .rows import HcpcsRow
from .textfile import iter_lines, proves_whole

WHAT = "a HCPCS ANWEB file"

# Fixed-width fields, 1-based inclusive columns (LAYOUTS 2.1); names as in the CSV/XLSX header.
TXT_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("HCPC", 1, 5),
    ("SEQNUM", 6, 10),
    ("RECID", 11, 11),
    ("LONG DESCRIPTION", 12, 91),
    ("SHORT DESCRIPTION", 92, 119),
    *((f"PRICE{i}", 118 + 2 * i, 119 + 2 * i) for i in range(1, 5)),
    ("MULT_PI", 128, 128),
    *((f"CIM{i}", 123 + 6 * i, 128 + 6 * i) for i in range(1, 4)),
    *((f"MCM{i}", 139 + 8 * i, 146 + 8 * i) for i in range(1, 4)),
    ("STATUTE", 171, 180),
    *((f"LABCERT{i}", 178 + 3 * i, 180 + 3 * i) for i in range(1, 9)),
    *((f"XREF{i}", 200 + 5 * i, 204 + 5 * i) for i in range(1, 6)),
    ("COV", 230, 230),
    ("ASC_GRP", 231, 232),
    ("ASC_DT", 233, 240),
    ("OPPS", 241, 243),
    ("OPPS_PI", 244, 244),
    ("OPPS_DT", 245, 252),
    ("PROCNOTE", 253, 256),
    ("BETOS", 257, 259),
    *((f"TOS{i}", 260 + i, 260 + i) for i in range(1, 6)),
    ("ANEST_BU", 266, 268),
    ("ADD DT", 269, 276),
    ("ACT EFF DT", 277, 284),
    ("TERM DT", 285, 292),
    ("ACTION CD", 293, 293),
)
HEADER: tuple[str, ...] = tuple(name for name, _, _ in TXT_FIELDS)
FIRST_RECORD_LENGTH = 293  # through ACTION CD; the rest of the 320 is filler
CONTINUATION_LENGTH = 91  # through the long description
_RECORD_START = re.compile(r"[ A-Z0-9]{5}\d{5}[3478]")
_PROCEDURE = re.compile(r"[A-Z][0-9]{4}")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_PREAMBLE_LIMIT = 40  # lines of disclaimer allowed before the first record
_HEADER_SEARCH_LIMIT = 20  # rows allowed before the CSV/XLSX header
_ZERO_PAD = {"SEQNUM": 4, "PROCNOTE": 4, **{f"PRICE{i}": 2 for i in range(1, 5)}}  # numeric xlsx cells
_CONTINUES = {"3": "4", "7": "8"}


@dataclass(slots=True)
class _Record:
    """One physical record of any form: its line (or row) number and its fields, stripped."""

    line: int
    fields: dict[str, str]


@proves_whole(WHAT, container=True)
def parse(path: str | Path) -> Iterator[HcpcsRow]:
    """Yield one HcpcsRow per procedure code and modifier; the form (txt, csv, xlsx) is taken from the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".txt":
        records = _txt_records(path)
    elif suffix == ".csv":
        records = _csv_records(path)
    elif suffix == ".xlsx":
        records = _xlsx_records(path)
    else:
        raise FormatError(f"unknown suffix {suffix!r}: expected .txt, .csv or .xlsx", file=str(path))
    return _assemble(records, str(path))


def _txt_records(path: str | Path) -> Iterator[_Record]:
    file = str(path)
    started = False
    for number, text in iter_lines(path, what=WHAT):
        if not started:
            if _RECORD_START.match(text):
                started = True
            elif number >= _PREAMBLE_LIMIT:
                raise FormatError(
                    f"no HCPCS record in the first {_PREAMBLE_LIMIT} lines: this does not look like {WHAT}",
                    file=file,
                    line=number,
                )
            else:
                continue
        if not text.strip():
            continue
        if not _RECORD_START.match(text):
            raise FormatError(f"not a HCPCS record: {text[:30]!r}", file=file, line=number)
        first = text[10] in _CONTINUES
        needed = FIRST_RECORD_LENGTH if first else CONTINUATION_LENGTH
        if len(text) < needed:
            kind = "first" if first else "continuation"
            raise FormatError(
                f"{kind} record has {len(text)} characters, the layout needs {needed} (truncated file?)",
                file=file,
                line=number,
            )
        fields = {name: text[start - 1 : end].strip() for name, start, end in (TXT_FIELDS if first else TXT_FIELDS[:4])}
        yield _Record(number, fields)
    if not started:
        raise FormatError(f"no HCPCS record found: this does not look like {WHAT}", file=file)


def _normalise_header(cells: Iterable[str]) -> list[str]:
    return [" ".join(cell.split()).upper() for cell in cells]


def _records_from_rows(rows: Iterable[tuple[int, list[str]]], file: str) -> Iterator[_Record]:
    """Records from table rows (CSV or XLSX): find the header, then map each row onto it."""
    columns: dict[str, int] | None = None
    for number, cells in rows:
        if columns is None:
            names = _normalise_header(cells)
            if names and names[0] == "HCPC":
                missing = [name for name in HEADER if name not in names]
                if missing:
                    raise FormatError(f"header lacks column(s) {', '.join(missing)}", file=file, line=number)
                columns = {name: names.index(name) for name in HEADER}
            elif number >= _HEADER_SEARCH_LIMIT:
                raise FormatError(
                    f"no HCPC,SEQNUM,RECID... header in the first {_HEADER_SEARCH_LIMIT} rows: "
                    f"this does not look like {WHAT}",
                    file=file,
                    line=number,
                )
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(HEADER):
            raise FormatError(
                f"row has {len(cells)} cells, the header has {len(HEADER)} (truncated file?)", file=file, line=number
            )
        yield _Record(number, {name: cells[index].strip() for name, index in columns.items()})
    if columns is None:
        raise FormatError(f"no HCPC,SEQNUM,RECID... header: this does not look like {WHAT}", file=file)


def _csv_records(path: str | Path) -> Iterator[_Record]:
    file = str(path)
    lines = (text for _, text in iter_lines(path, what=WHAT, keepends=True))
    reader = csv.reader(lines)
    try:
        yield from _records_from_rows(((reader.line_num, row) for row in reader), file)
    except csv.Error as exc:
        raise FormatError(f"bad CSV: {exc}", file=file, line=reader.line_num) from None


def _xlsx_records(path: str | Path) -> Iterator[_Record]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    file = str(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise FormatError(f"not a readable xlsx workbook ({exc}): this does not look like {WHAT}", file=file) from None
    try:
        sheet = workbook.worksheets[0]
        columns: list[str] = []

        def rows() -> Iterator[tuple[int, list[str]]]:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if not columns:
                    cells = [_cell_text(value, "") for value in values]
                    if cells and cells[0].strip().upper() == "HCPC":
                        columns.extend(_normalise_header(cells))
                    yield number, cells
                else:
                    names = columns + [""] * (len(values) - len(columns))
                    yield number, [_cell_text(value, name) for value, name in zip(values, names)]

        yield from _records_from_rows(rows(), file)
    finally:
        workbook.close()


def _cell_text(value: object, column: str) -> str:
    """An XLSX cell as the text the CSV would hold (numbers re-padded where the layout has leading zeros)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y%m%d")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value).zfill(_ZERO_PAD.get(column, 0))
    return str(value)


def _assemble(records: Iterable[_Record], file: str) -> Iterator[HcpcsRow]:
    """Join continuation records onto their first record and check the sequence."""
    seen: dict[str, int] = {}
    first: _Record | None = None
    parts: list[str] = []
    last_seq = -1
    for record in records:
        fields = record.fields
        code, recid, seqnum = fields["HCPC"], fields["RECID"], fields["SEQNUM"]

        def fail(message: str, field: str | None = None, line: int = record.line) -> FormatError:
            return FormatError(message, file=file, line=line, field=field)

        if recid not in ("3", "4", "7", "8"):
            raise fail(f"RECID {recid!r} is not 3, 4, 7 or 8", "RECID")
        pattern = _PROCEDURE if recid in "34" else _MODIFIER
        if not pattern.fullmatch(code):
            kind = "procedure code" if recid in "34" else "modifier"
            raise fail(f"{code!r} is not a HCPCS Level II {kind}", "HCPC")
        if not seqnum.isdigit():
            raise fail(f"SEQNUM {seqnum!r} is not a number", "SEQNUM")
        seq = int(seqnum)
        if recid in _CONTINUES:
            if first is not None:
                yield _row(first, parts, file)
            if code in seen:
                raise fail(f"{code} has a second first record (the first is on line {seen[code]})", "HCPC")
            seen[code] = record.line
            first, parts, last_seq = record, [fields["LONG DESCRIPTION"]], seq
            continue
        if first is None or first.fields["HCPC"] != code or _CONTINUES[first.fields["RECID"]] != recid:
            raise fail(f"continuation record (RECID {recid}) for {code} without its first record", "RECID")
        if seq <= last_seq:
            raise fail(f"SEQNUM {seqnum} of {code} does not follow {last_seq:0{len(seqnum)}d}", "SEQNUM")
        last_seq = seq
        parts.append(fields["LONG DESCRIPTION"])
    if first is None:
        raise FormatError(f"no HCPCS records: this does not look like {WHAT}", file=file)
    yield _row(first, parts, file)


def _row(record: _Record, parts: list[str], file: str) -> HcpcsRow:
    fields = record.fields

    def when(name: str) -> date | None:
        return parse_yyyymmdd(fields[name], file=file, line=record.line, field=name)

    def several(prefix: str, count: int) -> tuple[str, ...]:
        return tuple(value for i in range(1, count + 1) if (value := fields[f"{prefix}{i}"]))

    long_description = " ".join(part.strip() for part in parts if part.strip())
    if not long_description:
        raise FormatError(
            f"{fields['HCPC']} has no long description", file=file, line=record.line, field="LONG DESCRIPTION"
        )
    return HcpcsRow(
        code=fields["HCPC"],
        is_modifier=fields["RECID"] == "7",
        long_description=long_description,
        short_description=fields["SHORT DESCRIPTION"],
        pricing_indicators=several("PRICE", 4),
        multiple_pricing=fields["MULT_PI"],
        coverage=fields["COV"],
        asc_group=fields["ASC_GRP"],
        asc_date=when("ASC_DT"),
        proc_note=fields["PROCNOTE"],
        betos=fields["BETOS"],
        type_of_service=several("TOS", 5),
        xrefs=several("XREF", 5),
        added=when("ADD DT"),
        action_effective=when("ACT EFF DT"),
        terminated=when("TERM DT"),
        action_code=fields["ACTION CD"],
    )


_NAME = re.compile(r"HCPC(?P<year>(?:19|20)\d\d)(?:_(?P<month>[A-Z]{3})(?=[_.\s-]|$))?", re.IGNORECASE)
_MONTHS = {name.upper(): number for number, name in enumerate(MONTH_ABBR) if name}


def file_info(path: str | Path) -> FileInfo:
    """Validity from the name. ``HCPC2026_OCT_ANWEB_v2.txt`` -> 2026-10-01..2026-12-31 (a quarterly file runs
    to the end of its quarter); ``HCPC2020_ANWEB_w_disclaimer.txt`` (annual) -> 2020-01-01..2020-12-31: an annual
    file is the code set of its calendar year (later years come in their own files), so a 2026 date of service
    is not answered from it and the product says it is not loaded."""
    match = _NAME.search(Path(path).name)
    if not match:
        return FileInfo()
    year = int(match["year"])
    month = _MONTHS.get((match["month"] or "").upper())
    if month is None:
        return FileInfo(date(year, 1, 1), date(year, 12, 31), f"HCPCS {year}")
    quarter_end = (month - 1) // 3 * 3 + 3
    end = date(year, quarter_end, calendar.monthrange(year, quarter_end)[1])
    return FileInfo(date(year, month, 1), end, f"HCPCS {year} {MONTH_ABBR[month].upper()}")
