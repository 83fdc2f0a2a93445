"""CMS NCCI add-on code (AOC) edit file, fixed-width text (the format CMS uses since 1 January 2022).

One record per add-on code and primary code (0-based slices):
    0       edit type: 1 (CPT/HCPCS name every acceptable primary), 2 (no primaries named: the contractor
            decides), 3 (some primaries named; the contractor may accept others)
    1-6     add-on code
    6-13    primary code's effective date, YYYYDDD (year and day of the year), or blank
    13-18   primary code, or ``CCCCC`` where the contractor defines the primaries (type 2)
    18-25   primary code's deletion date, YYYYDDD, or blank
    25-32   the add-on code edit's effective date, YYYYDDD
    32-39   the add-on code edit's deletion date, YYYYDDD, or blank (the last day it applies)
    39-     free text (ignored)
The positions are those of the current CMS text file as described by a public parser of it; CMS's own
file-structure PDF could not be read while writing this (docs/procedures.md marks the layout ``likely``).
The dates' unusual YYYYDDD form is the file's own. ``0000000`` is read as no date.

The file proves it is whole: every record has every field up to the edit's effective date, the type is 1, 2
or 3, codes are five characters, dates are real days; a cut record is a FormatError naming its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

from ._tabular import PathLike, file_name, open_checked
from .base import FileInfo, FormatError
from .rows import AddonEditRow

__all__ = ["parse", "file_info", "julian"]

CONTRACTOR_DEFINED = "CCCCC"
_CODE = re.compile(r"[0-9A-Z]{4}[0-9A-Z]")
_JULIAN = re.compile(r"(\d{4})(\d{3})")
_MIN_LENGTH = 32
_NAME_QUARTER = re.compile(r"(20\d\d)[ _-]?Q([1-4])", re.IGNORECASE)


def julian(value: str, *, file: str, line: int, field: str) -> date | None:
    """``2026001`` -> 2026-01-01; blank or ``0000000`` -> None; anything else is a FormatError."""
    value = value.strip()
    if not value or value == "0000000":
        return None
    match = _JULIAN.fullmatch(value)
    if match:
        year, day = int(match.group(1)), int(match.group(2))
        if 1 <= day <= 366 and year >= 1900:
            result = date(year, 1, 1) + timedelta(days=day - 1)
            if result.year == year:
                return result
    raise FormatError(f"{value!r} is not a date (YYYYDDD)", file=file, line=line, field=field)


def parse(path: PathLike) -> Iterator[AddonEditRow]:
    name = str(path)
    count = 0
    with open_checked(path) as fh:
        for number, raw in enumerate(fh, 1):
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            if len(text.rstrip()) < _MIN_LENGTH:
                raise FormatError(
                    f"a record has at least {_MIN_LENGTH} characters up to the edit's effective date; this one "
                    f"{len(text.rstrip())} (cut, or not an add-on code edit file)",
                    file=name,
                    line=number,
                )
            yield _record(text.ljust(39), name, number)
            count += 1
    if not count:
        raise FormatError("no records: this does not look like an NCCI add-on code edit file", file=name)


def _record(text: str, name: str, number: int) -> AddonEditRow:
    kind = text[0]
    if kind not in "123":
        raise FormatError(f"{kind!r} is not an edit type (1, 2 or 3)", file=name, line=number, field="AOC type")
    addon = text[1:6]
    if not _CODE.fullmatch(addon):
        raise FormatError(f"{addon!r} is not a procedure code", file=name, line=number, field="add-on code")
    primary = text[13:18].strip()
    if primary == CONTRACTOR_DEFINED:
        primary = ""
    elif not _CODE.fullmatch(primary):
        raise FormatError(f"{primary!r} is not a procedure code", file=name, line=number, field="primary code")
    effective = julian(text[25:32], file=name, line=number, field="AOC effective date")
    if effective is None:
        raise FormatError("the edit has no effective date", file=name, line=number, field="AOC effective date")
    return AddonEditRow(
        addon=addon,
        primary=primary,
        edit_type=int(kind),
        addon_effective=effective,
        addon_deleted=julian(text[32:39], file=name, line=number, field="AOC deletion date"),
        primary_effective=julian(text[6:13], file=name, line=number, field="primary effective date"),
        primary_deleted=julian(text[18:25], file=name, line=number, field="primary deletion date"),
    )


def file_info(path: PathLike) -> FileInfo:
    """The file is cumulative (rows carry their own dates); its name may say the quarter it was published for
    (``..._2026Q1...``): then in force from that quarter's first day, open ended."""
    match = _NAME_QUARTER.search(file_name(path))
    if not match:
        return FileInfo()
    start = date(int(match.group(1)), (int(match.group(2)) - 1) * 3 + 1, 1)
    return FileInfo(effective_from=start, label=f"NCCI add-on code edits {start.year} Q{match.group(2)}")
