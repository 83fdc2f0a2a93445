"""ASC Addendum AA (covered surgical procedures and their ASC payment), CSV or tab-separated (LAYOUTS.md 5.4).

No real AA file has been seen; LAYOUTS gives the columns approximately: ``HCPCS Code, Short Descriptor,
Subject to Multiple Procedure Discounting, <Month YYYY> Comment Indicator, <Month YYYY> Payment Indicator,
<Month YYYY> Payment Weight, <Month YYYY> Payment Rate`` after a few preamble lines. So the header row is the
one whose first cell is ``HCPCS Code``, and the other columns are matched by what their names contain
("Multiple Procedure", "Comment Indicator", "Payment Indicator", "Payment Weight", "Payment Rate"), with white
space collapsed and case ignored; unnamed and extra columns are ignored. A name matching two columns is an
error rather than a guess. The comment indicator column is optional ("" when absent).

Money cells may carry ``$``, thousands commas and stray spaces; ``.`` or blank is None. Short descriptors of
CPT codes (codes that start with a digit) are the AMA's and are dropped ("").

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end; a
code row has every column up to the last one used; the Y/N flag, payment indicator and amounts are checked. No
footer is known, so a cut on a line boundary is caught only by the loader's expected count or its comparison with
the release in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from ._tabular import MONTH_NAME, MONTHS, PathLike, clean, file_name, header_key, quarter_end, table_records, to_decimal
from .base import FileInfo, FormatError
from .rows import AscRow
from .textfile import proves_whole

__all__ = ["parse", "file_info"]

_CODE = re.compile(r"[0-9A-Z]{5}")
_INDICATOR = re.compile(r"[A-Z][0-9A-Z]")
_PREFIX = re.compile(r"^(?:CY\s+)?([A-Z]+)\s+(20\d\d)\s+PAYMENT (?:INDICATOR|RATE|WEIGHT)")
_NAME_DATE = re.compile(r"(?<![a-z])([a-z]+)[ _-]*(20\d\d)(?!\d)")
_YES_NO = {"Y": True, "N": False}


def _is_header(row: list[str]) -> bool:
    return bool(row) and header_key(row[0]) == "HCPCS CODE"


def _column(keys: list[str], word: str, *, name: str, line: int, required: bool = True) -> int | None:
    found = [i for i, k in enumerate(keys) if word in k]
    if len(found) > 1:
        raise FormatError(
            f"unexpected header: {len(found)} columns contain {word!r} ({', '.join(keys[i] for i in found)})",
            file=name,
            line=line,
        )
    if not found:
        if not required:
            return None
        raise FormatError(
            f"unexpected header: no column containing {word!r} (columns: {', '.join(k for k in keys if k)})",
            file=name,
            line=line,
        )
    return found[0]


def _records(path: PathLike) -> Iterator[tuple[int, list[str]]]:
    return table_records(
        path,
        is_header=_is_header,
        not_found="this does not look like an ASC Addendum AA file: no header row starting 'HCPCS Code'",
    )


@proves_whole("an ASC Addendum AA file")
def parse(path: PathLike) -> Iterator[AscRow]:
    """AscRow per HCPCS code. FormatError on a missing or ambiguous column, a bad code, indicator, Y/N flag or
    amount, a repeated code, a truncated record or a code row after the table's end."""
    name = str(path)
    records = _records(path)
    header_line, header = next(records)
    keys = [header_key(c) for c in header]
    at = {"name": name, "line": header_line}
    code_i = 0
    desc_i = _column(keys, "SHORT DESCRIPTOR", **at)
    mpd_i = _column(keys, "MULTIPLE PROCEDURE", **at)
    comment_i = _column(keys, "COMMENT INDICATOR", required=False, **at)
    pi_i = _column(keys, "PAYMENT INDICATOR", **at)
    weight_i = _column(keys, "PAYMENT WEIGHT", **at)
    rate_i = _column(keys, "PAYMENT RATE", **at)
    used = [i for i in (code_i, desc_i, mpd_i, comment_i, pi_i, weight_i, rate_i) if i is not None]
    width = max(used) + 1
    seen: dict[str, int] = {}
    ended_at = 0
    for line, row in records:
        if not any(c.strip() for c in row):
            continue
        code = row[code_i].strip().upper()
        if not _CODE.fullmatch(code):
            if any(c.strip() for c in row[1:]):
                raise FormatError(f"{row[0]!r} is not a 5-character HCPCS code", file=name, line=line, field="HCPCS")
            ended_at = ended_at or line  # footnotes after the table
            continue
        if ended_at:
            raise FormatError(f"a code row after the end of the table (line {ended_at})", file=name, line=line)
        if len(row) < width:
            raise FormatError(f"truncated record: {len(row)} of at least {width} columns", file=name, line=line)
        flag = row[mpd_i].strip().upper()
        if flag not in _YES_NO:
            raise FormatError(f"{row[mpd_i]!r} is not Y or N", file=name, line=line, field="Multiple Procedure")
        indicator = row[pi_i].strip().upper()
        if not _INDICATOR.fullmatch(indicator):
            raise FormatError(
                f"{row[pi_i]!r} is not a payment indicator", file=name, line=line, field="Payment Indicator"
            )
        comment = row[comment_i].strip().upper() if comment_i is not None else ""
        weight = to_decimal(row[weight_i], file=name, line=line, field="Payment Weight")
        rate = to_decimal(row[rate_i], file=name, line=line, field="Payment Rate")
        if code in seen:
            raise FormatError(f"duplicate code {code} (first on line {seen[code]})", file=name, line=line)
        seen[code] = line
        yield AscRow(
            code=code,
            short_description="" if code[0].isdigit() else clean(row[desc_i]),
            multiple_procedure_discount=_YES_NO[flag],
            comment_indicator=comment,
            payment_indicator=indicator,
            payment_weight=weight,
            payment_rate=rate,
        )
    if not seen:
        raise FormatError("no code rows after the header", file=name)


def file_info(path: PathLike) -> FileInfo:
    """The ``<Month YYYY>`` prefix of the payment columns (``January 2025 Payment Rate``), else a month name and
    year in the file name: the first day of that month to the end of its quarter."""
    found: tuple[int, int] | None = None
    try:
        records = _records(path)
        _, header = next(records)
        records.close()
        for key in (header_key(c) for c in header):
            match = _PREFIX.match(key)
            if match and match.group(1).lower() in MONTHS:
                found = (int(match.group(2)), MONTHS[match.group(1).lower()])
                break
    except (FormatError, OSError, StopIteration):
        pass
    if found is None:
        for match in _NAME_DATE.finditer(file_name(path).lower()):
            if match.group(1) in MONTHS:
                found = (int(match.group(2)), MONTHS[match.group(1)])
                break
    if found is None:
        return FileInfo()
    start = date(found[0], found[1], 1)
    return FileInfo(start, quarter_end(start), f"ASC Addendum AA {MONTH_NAME[start.month]} {start.year}")
