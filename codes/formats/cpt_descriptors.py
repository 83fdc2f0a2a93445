"""Parser for a licensed AMA CPT descriptor file: the practice's own copy, never shipped with the product.

Not a CMS layout (CMS files blank CPT text, see LAYOUTS 2 and 4): a tab-delimited text file, one
``code<TAB>descriptor`` per line. A first line that does not start with a code and names a code column
(``Code<TAB>Descriptor``, ``CPT Code<TAB>Long Descriptor``) is a header and is skipped. Codes are 5 characters:
5 digits (Category I) or 4 digits and F (Category II), T (Category III), U (PLA) or M (MAAA).

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end and
each line has both columns. The descriptor runs to the line end with no marker and the file has no footer, so a cut
on a line boundary is caught only by the loader's expected count or its comparison with the release in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from .base import FileInfo, FormatError
from .rows import CptRow
from .textfile import iter_lines, proves_whole

WHAT = "a CPT descriptor file (code<TAB>descriptor)"
CPT_CODE = re.compile(r"[0-9]{5}|[0-9]{4}[FTUM]")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


@proves_whole(WHAT)
def parse(path: str | Path) -> Iterator[CptRow]:
    """Yield a CptRow per line; blank lines are skipped, a header line is allowed first."""
    file = str(path)
    seen: dict[str, int] = {}
    first = True
    for number, text in iter_lines(path, what=WHAT):
        if not text.strip():
            continue
        cells = text.split("\t")
        while len(cells) > 2 and not cells[-1].strip():
            cells.pop()
        code = cells[0].strip().upper()
        if first:
            first = False
            if not CPT_CODE.fullmatch(code):
                if "CODE" in code and len(cells) == 2:
                    continue
                raise FormatError(f"this does not look like {WHAT}: {text[:40]!r}", file=file, line=number)
        if len(cells) != 2:
            raise FormatError(
                f"expected 2 tab-separated columns (code, descriptor), found {len(cells)}", file=file, line=number
            )
        if not CPT_CODE.fullmatch(code):
            raise FormatError(
                f"{cells[0]!r} is not a CPT code (5 digits, or 4 digits and F/T/U/M)",
                file=file,
                line=number,
                field="code",
            )
        description = cells[1].strip()
        if not description:
            raise FormatError(f"{code} has no descriptor", file=file, line=number, field="descriptor")
        if code in seen:
            raise FormatError(
                f"code {code} appears twice (first on line {seen[code]})", file=file, line=number, field="code"
            )
        seen[code] = number
        yield CptRow(code=code, description=description)
    if not seen:
        raise FormatError(f"no CPT codes: the file is empty or not {WHAT}", file=file)


def file_info(path: str | Path) -> FileInfo:
    """The CPT year from a 4-digit year in the name (``cpt_2026_long.txt`` -> from 2026-01-01, open-ended);
    an empty FileInfo when the name has none."""
    match = _YEAR.search(Path(path).name)
    if not match:
        return FileInfo()
    year = int(match[1])
    return FileInfo(date(year, 1, 1), None, f"CPT {year}")
