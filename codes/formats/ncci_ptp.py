"""NCCI procedure-to-procedure (PTP) edit tables, practitioner and outpatient hospital (LAYOUTS.md 3.1).

Files: ``ccipra-v{VVV}r{R}-f{1..4}.TXT`` (practitioner) and ``ccioph-v{VVV}r{R}-f{1..4}.txt`` (outpatient
hospital). ``VVV`` is the 2-digit NCCI version year (31 = 2025, 32 = 2026) plus a quarter index 0..3
(v322 = 2026 Q3), ``R`` the revision, ``f`` the part (each table is split into four parts by code range).

Layout (latin-1, tab-delimited, LF): the AMA notice (one line padded with tabs in the real file; a quoted
notice running over several lines is skipped too), ``Column1/Column2 Edits``, then a header wrapped over four
lines that flattens to ``Column 1 | Column 2 | *=in existence prior to 1996 | Effective Date |
Deletion Date *=no data | Modifier 0=not allowed 1=allowed 9=not applicable | PTP Edit Rationale``, then one
edit per line. ``*`` in the prior-1996 column marks an edit older than 1996; ``*`` as the deletion date means
active. A deletion date is the last day the edit applies.

Speed: the product loads about 2,000,000 rows per table. :func:`parse_tuples` is the bulk loader's path: one
``str.split`` per line, dates looked up in a dict (a table has a few hundred distinct dates), no regex and no
``strptime`` per row. Duplicate (column 1, column 2, effective) keys are found without a set of every key:
CMS sorts the table by column 1 then column 2, so a repeat can only sit among the rows of the current pair.
If a file is not in that order, the whole file is checked once with a set of compact integer keys.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end (and
a last line without one must at least end in a known rationale); every row has exactly 7 tab-separated fields,
5-character codes, YYYYMMDD dates. The table has no footer and is split into parts (f1..f4) by code range, so a
cut on a line boundary is caught only by the loader's expected count or its comparison with the release in
force. The table (practitioner ``ccipra`` / outpatient hospital ``ccioph``) is told only by the name: both share
one header; the loader checks it against the kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import TextIO

from ._tabular import PathLike, file_name, flatten_stacked, header_key, open_checked, quarter_end
from .base import FileInfo, FormatError
from .rows import PtpRow
from .textfile import proves_whole

__all__ = ["parse", "parse_tuples", "file_info", "table_of", "part_of", "COLUMNS", "RATIONALES"]

PtpTuple = tuple[str, str, bool, date, "date | None", str, str]

#: The flattened header, as compared (upper case, single spaces).
COLUMNS = (
    "COLUMN 1",
    "COLUMN 2",
    "*=IN EXISTENCE PRIOR TO 1996",
    "EFFECTIVE DATE",
    "DELETION DATE *=NO DATA",
    "MODIFIER 0=NOT ALLOWED 1=ALLOWED 9=NOT APPLICABLE",
    "PTP EDIT RATIONALE",
)
#: Rationales seen in real files (others are accepted; these let a cut-off last line be recognised).
RATIONALES = frozenset(
    {
        "CPT Manual or CMS manual coding instruction",
        "Misuse of Column Two code with Column One code",
        "Mutually exclusive procedures",
        "Standards of medical/surgical practice",
    }
)
_MODIFIERS = frozenset({"0", "1", "9"})
_PREAMBLE_LINES = 40
_HEADER_LINES = 8
_NAME = re.compile(r"cci(pra|oph)-v(\d\d)(\d)r(\d+)(?:-f(\d))?", re.IGNORECASE)
_TABLES = {"pra": "practitioner", "oph": "hospital"}
_VERSION_YEAR_OFFSET = 1994  # NCCI version 31 = 2025, 32 = 2026 (LAYOUTS 3.1)


def parse(path: PathLike) -> Iterator[PtpRow]:
    """PtpRow per edit (see :func:`parse_tuples` for the fast path)."""
    row = PtpRow
    for values in parse_tuples(path):
        yield row(*values)


@proves_whole("an NCCI PTP file")
def parse_tuples(path: PathLike, *, iso_dates: bool = False) -> Iterator[PtpTuple]:
    """``(column1, column2, prior_1996, effective, deleted, modifier_indicator, rationale)`` per edit.

    ``prior_1996`` is a bool, ``effective`` a date, ``deleted`` a date or None (active), the modifier
    indicator "0", "1" or "9". Raises FormatError (with the 1-based line) on anything else.
    ``iso_dates``: the dates as ``"YYYY-MM-DD"`` strings instead (what SQLite stores: the loader's SQLite path
    then skips an adapter call per date, a tenth of its time).
    """
    name = str(path)
    with open_checked(path) as fh:
        first_line_no = _read_header(fh, name)
        yield from _rows(fh, first_line_no, name, path, iso_dates)


def _read_header(fh: TextIO, name: str) -> int:
    """Skip the notice and check the wrapped header. Leaves ``fh`` at the first edit row; returns its line number."""
    line_no = 0
    start: list[str] | None = None
    for _ in range(_PREAMBLE_LINES):
        line = fh.readline()
        line_no += 1
        if not line:
            break
        cells = line.rstrip("\r\n").split("\t")
        if len(cells) >= 2 and header_key(cells[0]) == "COLUMN 1" and header_key(cells[1]) == "COLUMN 2":
            start = cells
            break
    if start is None:
        raise FormatError(
            "this does not look like an NCCI PTP file: no 'Column 1<TAB>Column 2' header in the first "
            f"{_PREAMBLE_LINES} lines",
            file=name,
        )
    header_at = line_no
    stack = [start]
    while True:
        position = fh.tell()
        line = fh.readline()
        line_no += 1
        if not line:
            raise FormatError("the file ends inside the header: no edit rows", file=name, line=line_no)
        cells = line.rstrip("\r\n").split("\t")
        if cells[0].strip() or len(stack) >= _HEADER_LINES:
            break
        stack.append(cells)
    columns = flatten_stacked(stack, len(COLUMNS))
    found = tuple(header_key(c) for c in columns)
    extra = [c for row in stack for c in row[len(COLUMNS) :] if c.strip()]
    if found != COLUMNS or extra:
        raise FormatError(
            f"unexpected header: {' | '.join(columns + extra)} (expected {' | '.join(COLUMNS)})",
            file=name,
            line=header_at,
        )
    fh.seek(position)
    return line_no


def _bad_date(text: str, name: str, line: int, field: str, iso: bool = False) -> date | str:
    """Parse a YYYYMMDD seen for the first time (the caller caches it); FormatError if it is not one."""
    if len(text) == 8 and text.isdigit():
        try:
            value = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            return value.isoformat() if iso else value
        except ValueError:
            pass
    raise FormatError(f"{text!r} is not a date (YYYYMMDD)", file=name, line=line, field=field)


def _rows(lines: TextIO, first_line_no: int, name: str, path: PathLike, iso_dates: bool) -> Iterator[PtpTuple]:
    """The hot loop. Kept flat on purpose: locals only, one split, dict lookups for dates (ISO strings compare
    in date order, so the deletion check is the same either way)."""
    dates: dict[str, date | str] = {}
    get_date = dates.get
    rationales: dict[str, str] = {}  # raw field (with the line end) -> text; also shares one str per rationale
    get_rationale = rationales.get
    modifiers = _MODIFIERS
    prev1 = prev2 = ""
    pair_first_eff = ""
    pair_effs: set[str] | None = None
    ordered = True
    count = 0
    for n, line in enumerate(lines, first_line_no):
        parts = line.split("\t")
        if len(parts) != 7:
            if not line.strip():
                continue
            if len(parts) < 7:
                raise FormatError(f"truncated record: {len(parts)} of 7 tab-separated fields", file=name, line=n)
            raise FormatError(f"{len(parts)} tab-separated fields where the header has 7", file=name, line=n)
        c1, c2, prior, eff, dele, mod, raw = parts
        rationale = get_rationale(raw)
        if rationale is None:
            rationale = rationales[raw] = _rationale(raw, name, n)
        if len(c1) != 5 or len(c2) != 5:
            bad, field = (c1, "Column 1") if len(c1) != 5 else (c2, "Column 2")
            raise FormatError(f"{bad!r} is not a 5-character HCPCS/CPT code", file=name, line=n, field=field)
        effective = get_date(eff)
        if effective is None:
            effective = dates[eff] = _bad_date(eff, name, n, "Effective Date", iso_dates)
        if dele == "*":
            deleted = None
        else:
            deleted = get_date(dele)
            if deleted is None:
                deleted = dates[dele] = _bad_date(dele, name, n, "Deletion Date", iso_dates)
            if deleted < effective:
                raise FormatError(
                    f"deletion date {dele} is before the effective date {eff}", file=name, line=n, field="Deletion Date"
                )
        if mod not in modifiers:
            raise FormatError(f"modifier indicator {mod!r} is not 0, 1 or 9", file=name, line=n, field="Modifier")
        if prior:
            if prior != "*":
                raise FormatError(f"{prior!r} is neither '*' nor blank", file=name, line=n, field="prior to 1996")
            prior_1996 = True
        else:
            prior_1996 = False
        # Duplicate keys, relying on CMS's order (column 1, then column 2).
        if ordered:
            if c1 == prev1 and c2 == prev2:
                if pair_effs is None:
                    if eff == pair_first_eff:
                        _duplicate(c1, c2, eff, name, n)
                    pair_effs = {pair_first_eff, eff}
                elif eff in pair_effs:
                    _duplicate(c1, c2, eff, name, n)
                else:
                    pair_effs.add(eff)
            elif c1 > prev1 or (c1 == prev1 and c2 > prev2):
                prev1, prev2, pair_first_eff, pair_effs = c1, c2, eff, None
            else:
                _check_whole_file(path, name)  # raises on a duplicate anywhere in the file
                ordered = False
        count += 1
        yield (c1, c2, prior_1996, effective, deleted, mod, rationale)
    if not count:
        raise FormatError("no edit rows after the header", file=name)


def _rationale(raw: str, name: str, line: int) -> str:
    """The rationale text of a raw last field. Only the last line of a file can lack a line end: if its
    rationale is not a known one as well, the file was cut off inside it."""
    text = raw.rstrip("\r\n")
    if len(text) == len(raw) and text not in RATIONALES:
        raise FormatError(
            f"truncated record: the last line has no line end and an unknown rationale {text!r}",
            file=name,
            line=line,
            field="PTP Edit Rationale",
        )
    if not text.strip():
        raise FormatError("missing PTP edit rationale", file=name, line=line, field="PTP Edit Rationale")
    return text


def _duplicate(c1: str, c2: str, eff: str, name: str, line: int) -> None:
    raise FormatError(f"duplicate edit {c1}/{c2} effective {eff}", file=name, line=line)


def _check_whole_file(path: PathLike, name: str) -> None:
    """One pass with a set, for files not sorted by column 1 and column 2. Keys are packed into ints
    (codes in base 36) to keep the set small; other errors are left to the main loop."""
    seen: dict[int, int] = {}
    with open_checked(path) as fh:
        first_line_no = _read_header(fh, name)
        for n, line in enumerate(fh, first_line_no):
            parts = line.split("\t")
            if len(parts) != 7:
                continue
            try:
                key = (int(parts[0], 36) * 60466176 + int(parts[1], 36)) * 100000000 + int(parts[3])
            except ValueError:
                continue
            first = seen.setdefault(key, n)
            if first != n:
                raise FormatError(
                    f"duplicate edit {parts[0]}/{parts[1]} effective {parts[3]} (first on line {first})",
                    file=name,
                    line=n,
                )


def _name_parts(path: PathLike) -> re.Match[str] | None:
    return _NAME.search(file_name(path))


def table_of(path: PathLike) -> str | None:
    """``"practitioner"`` (ccipra) or ``"hospital"`` (ccioph), from the file name."""
    match = _name_parts(path)
    return _TABLES[match.group(1).lower()] if match else None


def part_of(path: PathLike) -> int | None:
    """The part number 1..4 from ``-f{n}`` in the file name."""
    match = _name_parts(path)
    return int(match.group(5)) if match and match.group(5) else None


def file_info(path: PathLike) -> FileInfo:
    """From the name: v322 -> 2026 Q3 -> 2026-07-01..2026-09-30, "NCCI PTP practitioner v32.2 (2026 Q3)".
    A revision after r0 is added to the label ("... v32.2r1 ..."). The parts of one table share one label."""
    match = _name_parts(path)
    if not match:
        return FileInfo()
    kind, yy, quarter, revision = match.group(1).lower(), int(match.group(2)), int(match.group(3)), match.group(4)
    if quarter > 3:
        return FileInfo()
    year = _VERSION_YEAR_OFFSET + yy
    start = date(year, 3 * quarter + 1, 1)
    version = f"v{yy}.{quarter}" + (f"r{int(revision)}" if int(revision) else "")
    return FileInfo(start, quarter_end(start), f"NCCI PTP {_TABLES[kind]} {version} ({year} Q{quarter + 1})")
