"""Helpers shared by the CMS payment and edit table parsers (PFS, GPCI, locality, NCCI, OPPS, ASC).

Private to ``codes.formats``: the public surface of each format is its own module's ``parse`` and
``file_info``. Nothing here touches Django.
"""

from __future__ import annotations

import calendar
import csv
import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

from .base import MONTH_ABBR, MONTH_NAME, MONTHS, FileInfo, FormatError  # noqa: F401 (the parsers' names)
from .textfile import open_text

PathLike = str | os.PathLike[str]


_WS = re.compile(r"\s+")


def open_checked(path: PathLike, *, newline: str | None = None) -> TextIO:
    """Open a CMS text file by the parsers' one text policy (``codes.formats.textfile``); ``newline=""`` for csv."""
    return open_text(path, newline=newline)


class FixedWidthTable:
    """The lines of a fixed-width TXT table after its header line (the first, within ``scan`` lines, holding every
    word of ``header``, case ignored), as ``(line number, text without its line end)``. Once read: ``header_line``
    (0 when there was none) and ``last`` (the number of the last line read)."""

    def __init__(self, lines: Iterable[str], header: tuple[str, ...], scan: int):
        self.lines, self.header, self.scan = lines, header, scan
        self.header_line = self.last = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for line_no, raw in enumerate(self.lines, start=1):
            text = raw.rstrip("\r\n")
            self.last = line_no
            if not self.header_line:
                if all(word in text.upper() for word in self.header):
                    self.header_line = line_no
                elif line_no >= self.scan:
                    return
                continue
            yield line_no, text

    def check_end(self, file: str, *, no_header: str, rows: int, ended: bool, no_end: Callable) -> None:
        """After the last line: a header was found (else ``no_header``), locality rows followed it, and the table
        ended with the text after it (else ``no_end(file, last line)``, the error of a file cut short)."""
        if not self.header_line:
            raise FormatError(no_header, file=file)
        if not rows:
            raise FormatError("no locality rows after the header", file=file)
        if not ended:
            raise no_end(file, self.last)


def calendar_year(path: PathLike, *, said: Callable[[str], re.Match | None], lines: int, name: re.Pattern,
                  label: str) -> FileInfo:  # fmt: skip
    """A file of one calendar year (GPCI, locality crosswalk): the year one of its first ``lines`` lines says
    (``said``: a match whose group 1 is the year), else the year its name says (two digits: 20yy)."""
    year = None
    try:
        with open_checked(path) as fh:
            for _ in range(lines):
                match = said(fh.readline())
                if match:
                    year = int(match.group(1))
                    break
    except (FormatError, OSError):
        pass
    if year is None:
        match = name.search(file_name(path))
        if not match:
            return FileInfo()
        year = int(match.group(1))
        year += 2000 if year < 100 else 0
    return FileInfo(date(year, 1, 1), date(year, 12, 31), f"{label} {year}")


def clean(value: str | None) -> str:
    """Strip and collapse runs of white space (CSV header cells carry stray spaces and line breaks)."""
    return _WS.sub(" ", value or "").strip()


def header_key(value: str | None) -> str:
    """A header cell reduced for comparison: collapsed white space, upper case."""
    return clean(value).upper()


def flatten_stacked(rows: Iterable[list[str]], width: int) -> list[str]:
    """Join a header stacked over several rows column by column: ``NON-FAC`` over ``PE RVU`` -> ``NON-FAC PE RVU``."""
    parts: list[list[str]] = [[] for _ in range(width)]
    for row in rows:
        for i in range(min(width, len(row))):
            cell = clean(row[i])
            if cell:
                parts[i].append(cell)
    joined = []
    for pieces in parts:
        text = ""
        for piece in pieces:  # a hyphen ends a broken word: "CO-" + "SURG" -> "CO-SURG"
            text = f"{text}{piece}" if not text or text.endswith("-") else f"{text} {piece}"
        joined.append(text)
    return joined


def to_decimal(value: str, *, file: str | None, line: int | None, field: str) -> Decimal | None:
    """``"$1,234.56"`` -> Decimal; blank or ``.`` -> None; anything else non-numeric is a FormatError."""
    text = value.strip()
    if not text or text == ".":
        return None
    text = text.replace("$", "").replace(",", "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FormatError(f"{value!r} is not a number", file=file, line=line, field=field) from None
    if not number.is_finite():
        raise FormatError(f"{value!r} is not a number", file=file, line=line, field=field)
    return number


def quarter_end(day: date) -> date:
    """The last day of the calendar quarter holding ``day``."""
    last_month = (day.month - 1) // 3 * 3 + 3
    return date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


def file_name(path: PathLike) -> str:
    return Path(path).name


def table_records(
    path: PathLike, *, is_header: Callable[[list[str]], bool], not_found: str, scan: int = 40
) -> Iterator[tuple[int, list[str]]]:
    """Records of a CSV (or tab-separated text) table whose header row is found by ``is_header`` within the
    first ``scan`` records: yields ``(line, header)`` first, then ``(line, record)`` for every later record.
    ``line`` is the 1-based line on which the record ends. The delimiter is a tab when the line holding the
    header has tabs and no commas outside the first cell, else a comma."""
    name = str(path)
    delimiter = "\t" if _tab_separated(path, is_header, scan) else ","
    found = False
    with open_checked(path, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            for row in reader:
                if found:
                    yield reader.line_num, row
                elif is_header(row):
                    found = True
                    yield reader.line_num, row
                elif reader.line_num >= scan:
                    break
        except csv.Error as exc:
            raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
    if not found:
        raise FormatError(not_found, file=name)


def _tab_separated(path: PathLike, is_header: Callable[[list[str]], bool], scan: int) -> bool:
    with open_checked(path, newline="") as fh:
        for _ in range(scan):
            line = fh.readline()
            if not line:
                break
            if "\t" in line and is_header(line.rstrip("\r\n").split("\t")):
                return True
    return False


def find_csv_header(reader, *, file: str, needles: tuple[str, ...], scan: int, what: str) -> list[str]:
    """Read ``reader`` (a csv.reader) up to its header row: the first row within ``scan`` rows that has a cell
    containing each of ``needles`` (upper-case header keys). Returns the row's header keys; the reader is left
    just after it. Raises FormatError saying what the file does not look like."""
    try:
        for row in reader:
            keys = [header_key(c) for c in row]
            if all(any(needle in k for k in keys) for needle in needles):
                return keys
            if reader.line_num >= scan:
                break
    except csv.Error as exc:
        raise FormatError(f"unreadable CSV: {exc}", file=file, line=reader.line_num) from None
    raise FormatError(f"this does not look like {what}", file=file)
