"""CMS ZIP code to carrier and pricing locality crosswalk (``ZIP5_OCT2025.txt``; layout ``ZIP5lyout.txt``).

Fixed width, 80 characters a record (CRLF), one record per five-digit ZIP code, 1-based positions from CMS's
layout: state 1-2, ZIP 3-7, carrier (the MAC's contractor number) 8-12, pricing locality 13-14, rural indicator
15 (blank urban, R rural, B super rural), lab competitive-bid locality 16-17, rural indicator 2 18, plus-four flag
21 (1: some ranges need the ZIP9 file), Part B payment indicator 23, year and quarter 76-80 (``20254``).

The file proves it is whole: every record is exactly 80 characters, every record names the same year and
quarter, and no ZIP code appears twice; a short (cut) last record is a FormatError naming its line. The
project ships the complete October 2025 file gzip-compressed (``.gz``, read as the same text).
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from ._tabular import PathLike, file_name
from .base import FileInfo, FormatError
from .rows import ZipLocalityRow
from .textfile import open_text, text_stream

__all__ = ["parse", "file_info", "RECORD_LENGTH"]

RECORD_LENGTH = 80
_STATE = re.compile(r"[A-Z]{2}")
_DIGITS5 = re.compile(r"\d{5}")
_LOCALITY = re.compile(r"\d{2}")
_YEAR_QUARTER = re.compile(r"(20\d\d)([1-4])")
_NAME_DATE = re.compile(r"ZIP5_([A-Z]{3})(\d{4})", re.IGNORECASE)
_MONTHS = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}


def _open(path: PathLike) -> io.TextIOBase:
    """The file as text (the parsers' one policy: ``codes.formats.textfile``), gunzipped when it is a gzip file (the
    shipped copy)."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return text_stream(gzip.open(path, "rb"))
    if magic == b"PK":
        raise FormatError("the file is a zip or Excel workbook: give the ZIP5 text file inside it", file=str(path))
    return open_text(path, what="a ZIP5 file")


def parse(path: PathLike) -> Iterator[ZipLocalityRow]:
    """Every record of a ZIP5 file, checked field by field."""
    name = str(path)
    seen: set[str] = set()
    quarter = None
    count = 0
    try:
        with _open(path) as fh:
            for number, raw in enumerate(fh, 1):
                text = raw.rstrip("\r\n")
                if not text.strip():
                    continue
                if len(text) != RECORD_LENGTH:
                    raise FormatError(
                        f"a record is {RECORD_LENGTH} characters, this one {len(text)} (cut or not a ZIP5 file)",
                        file=name,
                        line=number,
                    )
                row = _record(text, name, number)
                if quarter is None:
                    quarter = row.year_quarter
                elif row.year_quarter != quarter:
                    raise FormatError(
                        f"year/quarter {row.year_quarter} differs from the file's {quarter}",
                        file=name,
                        line=number,
                        field="Year/Quarter",
                    )
                if row.zip_code in seen:
                    raise FormatError(f"ZIP code {row.zip_code} appears twice", file=name, line=number)
                seen.add(row.zip_code)
                count += 1
                yield row
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise FormatError(f"the file cannot be read to its end ({exc.__class__.__name__})", file=name) from None
    if not count:
        raise FormatError("no ZIP records: this does not look like a CMS ZIP5 file", file=name)


def _record(text: str, name: str, number: int) -> ZipLocalityRow:
    state, zip_code, carrier, locality = text[0:2], text[2:7], text[7:12], text[12:14]
    if not _STATE.fullmatch(state):
        raise FormatError(f"{state!r} is not a state code", file=name, line=number, field="State")
    if not _DIGITS5.fullmatch(zip_code):
        raise FormatError(f"{zip_code!r} is not a ZIP code", file=name, line=number, field="Zip Code")
    if not _DIGITS5.fullmatch(carrier):
        raise FormatError(f"{carrier!r} is not a carrier number", file=name, line=number, field="Carrier")
    if not _LOCALITY.fullmatch(locality):
        raise FormatError(f"{locality!r} is not a locality", file=name, line=number, field="Pricing Locality")
    rural = text[14].strip()
    if rural not in ("", "R", "B"):
        raise FormatError(f"{rural!r} is not a rural indicator", file=name, line=number, field="Rural Indicator")
    plus_four = text[20]
    if plus_four not in ("0", "1"):
        raise FormatError(f"{plus_four!r} is not 0 or 1", file=name, line=number, field="Plus Four Flag")
    year_quarter = text[75:80]
    if not _YEAR_QUARTER.fullmatch(year_quarter):
        raise FormatError(f"{year_quarter!r} is not YYYYQ", file=name, line=number, field="Year/Quarter")
    return ZipLocalityRow(state, zip_code, carrier, locality, rural, plus_four == "1", year_quarter)


def quarter_start(year_quarter: str) -> date:
    match = _YEAR_QUARTER.fullmatch(year_quarter)
    if not match:
        raise ValueError(year_quarter)
    return date(int(match.group(1)), (int(match.group(2)) - 1) * 3 + 1, 1)


def file_info(path: PathLike) -> FileInfo:
    """In force from the first day of the quarter the records name (``20254``: 2025-10-01), open ended: the
    next quarter's file takes over. Falls back on the name (``ZIP5_OCT2025``) when the first record is bad."""
    stem = file_name(path)
    try:
        first = next(parse(path))
        start = quarter_start(first.year_quarter)
    except (FormatError, StopIteration):
        match = _NAME_DATE.search(Path(stem).name)
        if not match or match.group(1).upper() not in _MONTHS:
            return FileInfo()
        start = date(int(match.group(2)), _MONTHS[match.group(1).upper()], 1)
    label = f"CMS ZIP code to carrier and locality crosswalk {start.year} Q{(start.month - 1) // 3 + 1}"
    return FileInfo(effective_from=start, effective_to=None, label=label)
