"""OPPS Addendum B (hospital outpatient payment by HCPCS code), CSV or tab-separated text (LAYOUTS.md 5.1).

Preamble lines (title, AMA notice) come first; the header row is the one whose first cell is ``HCPCS Code``:
``HCPCS Code, Short Descriptor, SI, APC, Relative Weight, Payment Rate, National Unadjusted Copayment,
Minimum Unadjusted Copayment, Note..., Drug and Device Pass-Through Expiration..., * Indicates a Change``
(2025 adds ``IRA Coinsurance percentage`` and ``Adjusted Beneficiary Copayment``). Columns are found by name,
so extra or moved columns do not matter. Money cells may carry ``$`` and thousands commas (``"$1,234.56"``);
``.`` or blank means none (None). The ``*Addendum B.txt`` form is the same table separated by tabs.

Short descriptors of CPT codes (codes that start with a digit) are the AMA's and are dropped ("");
HCPCS Level II descriptors are kept. Only the layout of Addendum B has been seen (LAYOUTS marks the sample
UNVERIFIED); the parser checks every value it keeps.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end; a
code row has every column up to the last one used; SI, APC and amounts are checked. Footnotes after the table are
allowed but not required (the sample seen has none), so a cut on a line boundary is caught only by the loader's
expected count or its comparison with the release in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from ._tabular import MONTH_NAME, MONTHS, PathLike, clean, file_name, header_key, quarter_end, table_records, to_decimal
from .base import FileInfo, FormatError
from .rows import OppsRow
from .textfile import proves_whole

__all__ = ["parse", "file_info"]

_COLUMNS = {
    "code": "HCPCS CODE",
    "short_description": "SHORT DESCRIPTOR",
    "status_indicator": "SI",
    "apc": "APC",
    "relative_weight": "RELATIVE WEIGHT",
    "payment_rate": "PAYMENT RATE",
    "national_copayment": "NATIONAL UNADJUSTED COPAYMENT",
    "minimum_copayment": "MINIMUM UNADJUSTED COPAYMENT",
}
_MONEY = ("relative_weight", "payment_rate", "national_copayment", "minimum_copayment")
_CODE = re.compile(r"[0-9A-Z]{5}")
_SI = re.compile(r"[A-Z][0-9A-Z]?")
_APC = re.compile(r"\d{4,5}")
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_MONTH = re.compile(
    r"(?<![a-z])(" + "|".join(name for name in MONTHS if len(name) > 3 or name == "may") + r")(?![a-z])"
)


def _is_header(row: list[str]) -> bool:
    return bool(row) and header_key(row[0]) == "HCPCS CODE"


@proves_whole("an OPPS Addendum B file")
def parse(path: PathLike) -> Iterator[OppsRow]:
    """OppsRow per HCPCS code. FormatError on a missing column, a bad code, SI, APC or amount, a repeated code,
    a truncated record or a table row after the table's end."""
    name = str(path)
    records = table_records(
        path,
        is_header=_is_header,
        not_found="this does not look like an OPPS Addendum B file: no header row starting 'HCPCS Code'",
    )
    header_line, header = next(records)
    keys = [header_key(c) for c in header]
    index: dict[str, int] = {}
    for field, wanted in _COLUMNS.items():
        found = [i for i, k in enumerate(keys) if k == wanted]
        if len(found) != 1:
            raise FormatError(
                f"unexpected header: column {wanted!r} is {'missing' if not found else 'repeated'}"
                f" (columns: {', '.join(clean(c) for c in header)})",
                file=name,
                line=header_line,
            )
        index[field] = found[0]
    width = max(index.values()) + 1
    seen: dict[str, int] = {}
    ended_at = 0
    for line, row in records:
        if not any(c.strip() for c in row):
            continue
        first = row[0].strip().upper()
        if not _CODE.fullmatch(first):
            # Footnotes after the table: text in the first cell only. Anything else is a broken row.
            if any(c.strip() for c in row[1:]):
                raise FormatError(f"{row[0]!r} is not a 5-character HCPCS code", file=name, line=line, field="HCPCS")
            ended_at = ended_at or line
            continue
        if ended_at:
            raise FormatError(f"a code row after the end of the table (line {ended_at})", file=name, line=line)
        if len(row) < width:
            raise FormatError(f"truncated record: {len(row)} of at least {width} columns", file=name, line=line)
        status = row[index["status_indicator"]].strip().upper()
        if not _SI.fullmatch(status):
            raise FormatError(f"{status!r} is not a status indicator", file=name, line=line, field="SI")
        apc = row[index["apc"]].strip()
        if apc and not _APC.fullmatch(apc):
            raise FormatError(f"{apc!r} is not an APC number", file=name, line=line, field="APC")
        amounts = {field: to_decimal(row[index[field]], file=name, line=line, field=field) for field in _MONEY}
        if first in seen:
            raise FormatError(f"duplicate code {first} (first on line {seen[first]})", file=name, line=line)
        seen[first] = line
        yield OppsRow(
            code=first,
            short_description="" if first[0].isdigit() else clean(row[index["short_description"]]),
            status_indicator=status,
            apc=apc,
            **amounts,
        )
    if not seen:
        raise FormatError("no code rows after the header", file=name)


def file_info(path: PathLike) -> FileInfo:
    """From names such as ``January 2025 Web Addendum B.12.31.24.csv``, ``2023_January_Web_Addendum_B.01202023a.csv``
    or ``January_Web_2024_Addendum_B.04.24.24.csv``: the month and year before "Addendum" give the first day of
    that month to the end of its quarter. The digits after "Addendum B" are a posting date and are ignored."""
    stem = file_name(path).lower()
    cut = stem.find("addendum")
    head = stem[:cut] if cut > 0 else stem
    month = _MONTH.search(head.replace("_", " "))
    year = _YEAR.search(head)
    if not (month and year):
        return FileInfo()
    number = MONTHS[month.group(1)]
    start = date(int(year.group(1)), number, 1)
    return FileInfo(start, quarter_end(start), f"OPPS Addendum B {MONTH_NAME[number]} {start.year}")
