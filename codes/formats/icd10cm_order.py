"""Parser for the ICD-10-CM order file (LAYOUTS 1.2) and the codes file (LAYOUTS 1.3).

Order file (``icd10cm_order_2026.txt``, CDC ``icd10cm-order-2026.txt``, ``icd10cm-order-April-1-2026.txt``),
fixed width, one line per code including headers::

    cols 1-5 order number | 6 blank | 7-13 code, no dot | 14 blank | 15 "0" header / "1" billable | 16 blank
    17-76 short description | 77 blank | 78-end long description

Codes file (``icd10cm_codes_2026.txt``), billable codes only: cols 1-7 code, 8 blank, 9-end long description.

Which layout a file follows is told from its first line; every line must then follow it. Order numbers change
between releases and are not returned.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end;
an order-file record reaches its long description (column 78), a codes-file record its description (column 9).
The long description runs to the end of the line with no end marker and the file has no footer, so a cut on a
line boundary is caught only by the loader's expected count or its comparison with the release in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from .base import FileInfo, FormatError
from .icd10 import ICD10CM_CODE, release_from_name
from .rows import IcdRow
from .textfile import iter_lines, proves_whole

WHAT = "an ICD-10-CM order or codes file"
ORDER_MIN_LENGTH = 78  # through the first character of the long description
CODES_MIN_LENGTH = 9
_ORDER_START = re.compile(r"\d{5} [A-Z]")
_CODES_START = re.compile(r"[A-Z][0-9A-Z]{2}[0-9A-Z ]{4} \S")


@proves_whole(WHAT)
def parse(path: str | Path) -> Iterator[IcdRow]:
    """Yield an IcdRow per line (order file: headers and billable codes; codes file: billable codes)."""
    file = str(path)
    layout: str | None = None
    seen: dict[str, int] = {}
    for number, text in iter_lines(path, what=WHAT):
        if not text.strip():
            continue
        if layout is None:
            if _ORDER_START.match(text):
                layout = "order"
            elif _CODES_START.match(text):
                layout = "codes"
            else:
                raise FormatError(f"this does not look like {WHAT}: {text[:40]!r}", file=file, line=number)
        row = _order_row(text, file, number) if layout == "order" else _codes_row(text, file, number)
        if row.code in seen:
            raise FormatError(
                f"code {row.code} appears twice (first on line {seen[row.code]})", file=file, line=number, field="code"
            )
        seen[row.code] = number
        yield row
    if layout is None:
        raise FormatError(f"the file is empty, not {WHAT}", file=file)


def _order_row(text: str, file: str, number: int) -> IcdRow:
    def fail(message: str, field: str | None = None) -> FormatError:
        return FormatError(message, file=file, line=number, field=field)

    if len(text) < ORDER_MIN_LENGTH:
        raise fail(f"record has {len(text)} characters, the order-file layout needs at least {ORDER_MIN_LENGTH}")
    if not text[:5].isdigit():
        raise fail(f"{text[:5]!r} is not a 5-digit order number", "order number")
    for column in (6, 14, 16, 77):
        if text[column - 1] != " ":
            raise fail(f"column {column} should be blank in the order-file layout")
    code = _code(text[6:13], fail)
    flag = text[14]
    if flag not in "01":
        raise fail(f"{flag!r} is not 0 (header) or 1 (billable)", "billable flag")
    short = text[16:76].strip()
    long = text[77:].strip()
    if not short:
        raise fail("blank short description", "short description")
    if not long:
        raise fail("blank long description", "long description")
    return IcdRow(code=code, billable=flag == "1", description=long, short_description=short)


def _codes_row(text: str, file: str, number: int) -> IcdRow:
    def fail(message: str, field: str | None = None) -> FormatError:
        return FormatError(message, file=file, line=number, field=field)

    if len(text) < CODES_MIN_LENGTH:
        raise fail(f"record has {len(text)} characters, the codes-file layout needs at least {CODES_MIN_LENGTH}")
    if text[7] != " ":
        raise fail("column 8 should be blank in the codes-file layout")
    code = _code(text[:7], fail)
    long = text[8:].strip()
    if not long:
        raise fail("blank long description", "long description")
    return IcdRow(code=code, billable=True, description=long)


def _code(value: str, fail) -> str:
    code = value.strip()
    if not ICD10CM_CODE.fullmatch(code):
        raise fail(f"{value!r} is not an ICD-10-CM code without a dot", "code")
    return code


def file_info(path: str | Path) -> FileInfo:
    """Fiscal year from the name: ``icd10cm_order_2026.txt`` / ``icd10cm-order-2026.txt`` -> FY2026
    (2025-10-01..2026-09-30); ``icd10cm-order-April-1-2026.txt`` -> 2026-04-01..2026-09-30. Same for
    ``icd10cm_codes_YYYY.txt``. Anything after the year is ignored. Unknown names give an empty FileInfo."""
    name = Path(path).name
    return release_from_name(name, "order") or release_from_name(name, "codes") or FileInfo()
