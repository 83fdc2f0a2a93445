"""GPCIs by Medicare locality (Addendum E), CSV and fixed-width TXT (LAYOUTS.md section 4.6).

CSV (``GPCI2025.csv``): a title line, a blank line, the header
``Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,2025 PW GPCI (with 1.0 Floor),
2025 PE GPCI,2025 MP GPCI`` (2026: ``2026 PW GPCI (with 1.0 Floor)***``), one row per locality, then a row with
a blank locality (``MAC Assignments as of ...``) and footnotes. Columns are found by name.

TXT (``GPCI2025.txt``): the same title and header text, then 151-character records (positions read off the
real file, 1-based): MAC 1-5, state 17-18, locality 25-26, name 30-117, PW 118-129, PE 130-141, MP 142-153
(numbers right aligned, 3 decimals). The first line that does not start with a 5-digit MAC ends the data.

MAC and locality keep their leading zeros (``10112``, ``00``); zeros lost by a spreadsheet are restored.

What proves the file is whole (``textfile.proves_whole`` plus the checks here):

- the last line has its line end (CRLF in the real files);
- the table has its end: after the locality rows both forms carry ``MAC Assignments as of ...`` and the
  footnotes (``*Work GPCI reflects a 1.5 floor in Alaska...``). A file whose rows run to its last line was cut
  on a line boundary and is refused;
- GPCIs have 3 decimals. The TXT right-aligns every value with exactly 3 (``1.207``), so ``1.20`` is a cut
  value. The CSV was saved by a spreadsheet that drops trailing zeros (``1``, ``0.56``, ``1.1`` beside
  ``1.207``): a value there has 3 decimals, or fewer ending in a non-zero digit, or none; ``1.20`` or ``1.0``
  (a trailing zero with fewer than 3 decimals) is a cut value. ``1.2`` cut from ``1.207`` cannot be told;
- a record shorter than the layout (TXT: through the MP GPCI at 153; CSV: fewer cells than the header) fails.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from decimal import Decimal

from ._tabular import FixedWidthTable, PathLike, calendar_year, find_csv_header, open_checked, to_decimal
from .base import FileInfo, FormatError
from .rows import GpciRow
from .textfile import proves_whole

__all__ = ["parse", "parse_csv", "parse_txt", "file_info"]

_HEADER_SCAN_ROWS = 20
_YEAR_IN_HEADER = re.compile(r"\b(20\d\d) PW GPCI", re.IGNORECASE)
_YEAR_IN_NAME = re.compile(r"GPCI(20\d\d)", re.IGNORECASE)
_YEAR_IN_TITLE = re.compile(r"\bCY (20\d\d) GEOGRAPHIC PRACTICE COST INDICES", re.IGNORECASE)
_MILLI = Decimal("0.001")

# TXT slices (0-based) read off GPCI2025.txt.
_TXT_MAC = (0, 5)
_TXT_STATE = (16, 18)
_TXT_LOCALITY = (24, 26)
_TXT_NAME = (29, 117)
_TXT_NUMBERS = ((117, 129), (129, 141), (141, 153))
_TXT_BLANKS = ((5, 16), (18, 24), (26, 29))


def parse(path: PathLike) -> Iterator[GpciRow]:
    """Rows of a GPCI file, CSV or TXT (told apart by the header line: the CSV one has commas)."""
    with open_checked(path) as fh:
        for _ in range(_HEADER_SCAN_ROWS):
            line = fh.readline()
            if "PW GPCI" in line.upper():
                return parse_csv(path) if "," in line else parse_txt(path)
    return parse_csv(path)  # raises the "does not look like" error


_TXT_GPCI = re.compile(r"\d+\.\d{3}")
_CSV_GPCI = re.compile(r"\d+(?:\.\d{3}|\.\d{0,1}[1-9])?")


def _gpci(value: str, *, file: str, line: int, field: str, fixed: bool = False) -> Decimal:
    number = to_decimal(value, file=file, line=line, field=field)
    text = value.strip()
    if text and not (_TXT_GPCI if fixed else _CSV_GPCI).fullmatch(text):
        shape = "exactly 3 decimals" if fixed else "3 decimals (or fewer without a trailing zero)"
        raise FormatError(f"{text!r} is not a GPCI with {shape}: a value cut short?", file=file, line=line, field=field)
    if number is None:
        raise FormatError("missing GPCI value", file=file, line=line, field=field)
    if number <= 0 or number > 10:
        raise FormatError(f"{value!r} is not a plausible GPCI", file=file, line=line, field=field)
    quantized = number.quantize(_MILLI)
    return quantized if quantized == number else number


def _key(mac: str, locality: str, *, file: str, line: int) -> tuple[str, str]:
    mac, locality = mac.strip(), locality.strip()
    if not mac.isdigit() or len(mac) > 5:
        raise FormatError(f"{mac!r} is not a MAC number", file=file, line=line, field="MAC")
    if not locality.isdigit() or len(locality) > 2:
        raise FormatError(f"{locality!r} is not a locality number", file=file, line=line, field="Locality Number")
    return mac.zfill(5), locality.zfill(2)


def _check_unique(row: GpciRow, seen: dict[tuple[str, str], int], *, file: str, line: int) -> None:
    key = (row.mac, row.locality)
    if key in seen:
        raise FormatError(
            f"duplicate locality {row.mac}-{row.locality} (first on line {seen[key]})", file=file, line=line
        )
    seen[key] = line


def _find(columns: list[str], *, contains: tuple[str, ...], file: str, line: int, prefer: str | None = None) -> int:
    found = [i for i, c in enumerate(columns) if all(word in c for word in contains)]
    if len(found) > 1 and prefer:
        found = [i for i in found if prefer in columns[i]] or found
    if len(found) != 1:
        problem = "missing" if not found else "ambiguous"
        raise FormatError(
            f"unexpected header: column {' '.join(contains)!r} is {problem} (columns: {', '.join(columns)})",
            file=file,
            line=line,
        )
    return found[0]


@proves_whole("a GPCI CSV")
def parse_csv(path: PathLike) -> Iterator[GpciRow]:
    """Rows of a GPCI CSV, stopping at the first row with a blank locality."""
    name = str(path)
    with open_checked(path, newline="") as fh:
        reader = csv.reader(fh)
        header = find_csv_header(
            reader,
            file=name,
            needles=("LOCALITY NUMBER", "PW GPCI"),
            scan=_HEADER_SCAN_ROWS,
            what="a GPCI file: no header with Locality Number and PW GPCI columns",
        )
        at = reader.line_num
        mac_i = _find(header, contains=("CONTRACTOR",), file=name, line=at)
        state_i = _find(header, contains=("STATE",), file=name, line=at)
        loc_i = _find(header, contains=("LOCALITY NUMBER",), file=name, line=at)
        name_i = _find(header, contains=("LOCALITY NAME",), file=name, line=at)
        pw_i = _find(header, contains=("PW GPCI",), prefer="WITH 1.0 FLOOR", file=name, line=at)
        pe_i = _find(header, contains=("PE GPCI",), file=name, line=at)
        mp_i = _find(header, contains=("MP GPCI",), file=name, line=at)
        width = max(mac_i, state_i, loc_i, name_i, pw_i, pe_i, mp_i) + 1
        seen: dict[tuple[str, str], int] = {}
        ended = False
        try:
            for row in reader:
                line = reader.line_num
                if ended:
                    if len(row) >= width and row[loc_i].strip().isdigit() and row[mac_i].strip().isdigit():
                        raise FormatError("a locality row after the end of the table", file=name, line=line)
                    continue
                if len(row) <= loc_i or not row[loc_i].strip():
                    ended = True
                    continue
                if len(row) < width:
                    raise FormatError(f"truncated record: {len(row)} of {width} columns", file=name, line=line)
                mac, locality = _key(row[mac_i], row[loc_i], file=name, line=line)
                record = GpciRow(
                    mac=mac,
                    state=row[state_i].strip(),
                    locality=locality,
                    name=row[name_i].strip(),
                    work=_gpci(row[pw_i], file=name, line=line, field="PW GPCI"),
                    pe=_gpci(row[pe_i], file=name, line=line, field="PE GPCI"),
                    mp=_gpci(row[mp_i], file=name, line=line, field="MP GPCI"),
                )
                _check_unique(record, seen, file=name, line=line)
                yield record
        except csv.Error as exc:
            raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
        last = reader.line_num
    if not seen:
        raise FormatError("no locality rows after the header", file=name)
    if not ended:
        raise _no_end(name, last)


def _no_end(name: str, line: int) -> FormatError:
    return FormatError(
        "the file ends inside the locality table (no 'MAC Assignments' line or footnotes after it): cut short?",
        file=name,
        line=line,
    )


@proves_whole("a GPCI TXT")
def parse_txt(path: PathLike) -> Iterator[GpciRow]:
    """Rows of a fixed-width GPCI TXT (positions in the module docstring)."""
    name = str(path)
    seen: dict[tuple[str, str], int] = {}
    with open_checked(path) as fh:
        table = FixedWidthTable(fh, ("PW GPCI", "LOCALITY"), _HEADER_SCAN_ROWS)
        ended = False
        for line_no, text in table:
            starts_with_mac = text[:5].isdigit()
            if ended or not starts_with_mac:
                if ended and starts_with_mac:
                    raise FormatError("a locality row after the end of the table", file=name, line=line_no)
                ended = ended or bool(text.strip()) or bool(seen)
                continue
            if len(text.rstrip()) < _TXT_NUMBERS[2][0] + 5:
                raise FormatError(f"truncated record: {len(text)} characters", file=name, line=line_no)
            if any(text[a:b].strip() for a, b in _TXT_BLANKS):
                raise FormatError("text where the GPCI layout has spaces: not a GPCI TXT", file=name, line=line_no)
            mac, locality = _key(text[slice(*_TXT_MAC)], text[slice(*_TXT_LOCALITY)], file=name, line=line_no)
            work, pe, mp = (
                _gpci(text[a:b], file=name, line=line_no, field=field, fixed=True)
                for (a, b), field in zip(_TXT_NUMBERS, ("PW GPCI", "PE GPCI", "MP GPCI"))
            )
            record = GpciRow(
                mac=mac,
                state=text[slice(*_TXT_STATE)].strip(),
                locality=locality,
                name=text[slice(*_TXT_NAME)].strip(),
                work=work,
                pe=pe,
                mp=mp,
            )
            _check_unique(record, seen, file=name, line=line_no)
            yield record
    table.check_end(
        name,
        no_header="this does not look like a GPCI file: no header with a PW GPCI column",
        rows=len(seen),
        ended=ended,
        no_end=_no_end,
    )


def file_info(path: PathLike) -> FileInfo:
    """The calendar year of the header (``2025 PW GPCI``), the title (``CY 2025``) or the name (``GPCI2025``)."""

    def said(line: str) -> re.Match | None:
        return _YEAR_IN_HEADER.search(line) or _YEAR_IN_TITLE.search(line)

    return calendar_year(path, said=said, lines=_HEADER_SCAN_ROWS, name=_YEAR_IN_NAME, label="GPCI")
